/// A line of masked.jsonl: a sample's token ids and its labels as Hugging Face trainers take
/// them (-100 where there is no loss: the prompt and every masked response token).
public struct MaskedRecord: Codable, Equatable, Sendable {
    public static let fileName = "masked.jsonl"

    public let id: String
    public let inputIds: [Int32]
    public let labels: [Int32]

    public init(id: String, inputIds: [Int32], labels: [Int32]) {
        self.id = id
        self.inputIds = inputIds
        self.labels = labels
    }

    enum CodingKeys: String, CodingKey { case id, inputIds = "input_ids", labels }
}
