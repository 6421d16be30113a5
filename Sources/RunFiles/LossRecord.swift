/// A line of losses.jsonl (`xtf train`): one optimiser step, 1-based, with its loss, the
/// tokens that carried a loss, the learning rate, the gradient's global norm (before
/// clipping), when the step ended and where its seconds went. Rank 0 appends each line as the
/// step ends; a resumed run first cuts the file back to its checkpoint's steps.
public struct LossRecord: Codable, Equatable, Sendable {
    public var step: Int
    public var loss: Double
    /// nil in logs written before they were recorded.
    public var tokens: Int?
    public var lr: Double?
    /// nil in logs written before they were recorded.
    public var gradNorm: Double?
    public var validationLoss: Double?
    /// Seconds since the Unix epoch when the step ended; nil in older logs.
    public var time: Double?
    /// Seconds; nil in logs written before they were recorded.
    public var compute: Double?
    public var exposedCommunication: Double?
    public var communication: Double?
    public var optimizer: Double?

    public init(step: Int, loss: Double, tokens: Int?, lr: Double?, gradNorm: Double? = nil, validationLoss: Double?, time: Double? = nil,
                compute: Double?, exposedCommunication: Double?, communication: Double?, optimizer: Double?) {
        self.step = step; self.loss = loss; self.tokens = tokens; self.lr = lr; self.gradNorm = gradNorm
        self.validationLoss = validationLoss; self.time = time
        self.compute = compute; self.exposedCommunication = exposedCommunication; self.communication = communication
        self.optimizer = optimizer
    }

    enum CodingKeys: String, CodingKey {
        case step, loss, tokens, lr, time, compute, communication, optimizer
        case gradNorm = "grad_norm", validationLoss = "validation_loss", exposedCommunication = "exposed_communication"
    }

    public static let fileName = "losses.jsonl"
}
