/// A line of losses.jsonl (`xtf train`): one optimiser step, 1-based, with its loss, the
/// tokens that carried a loss, the learning rate and where the step's seconds went.
public struct LossRecord: Codable, Equatable, Sendable {
    public var step: Int
    public var loss: Double
    /// nil in logs written before they were recorded.
    public var tokens: Int?
    public var lr: Double?
    public var validationLoss: Double?
    /// Seconds; nil in logs written before they were recorded.
    public var compute: Double?
    public var exposedCommunication: Double?
    public var communication: Double?
    public var optimizer: Double?

    public init(step: Int, loss: Double, tokens: Int?, lr: Double?, validationLoss: Double?, compute: Double?,
                exposedCommunication: Double?, communication: Double?, optimizer: Double?) {
        self.step = step; self.loss = loss; self.tokens = tokens; self.lr = lr; self.validationLoss = validationLoss
        self.compute = compute; self.exposedCommunication = exposedCommunication; self.communication = communication
        self.optimizer = optimizer
    }

    enum CodingKeys: String, CodingKey {
        case step, loss, tokens, lr, compute, communication, optimizer
        case validationLoss = "validation_loss", exposedCommunication = "exposed_communication"
    }

    public static let fileName = "losses.jsonl"
}
