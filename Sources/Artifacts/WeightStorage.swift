/// Where a model's weights live while it runs (a setting of runs, so it lives beside the
/// checkpoint files rather than in the engine).
public enum WeightStorage: String, Codable, Sendable, CaseIterable {
    /// Every weight read into one fp32 buffer per process (needed to train every weight).
    case fp32
    /// Left as the checkpoint stores them (BF16, F16 or F32) in the memory-mapped file, which
    /// the ranks of a node share through the page cache; each layer is widened to fp32 just
    /// before it runs and given back after, so a rank holds one layer in fp32 at a time. For a
    /// frozen base: scoring, and LoRA training.
    case mapped
}
