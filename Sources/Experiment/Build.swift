/// This build of xtf: its version, and debug or release as compiled.
public enum Build {
    public static let version = "0.1.0"

    public static var configuration: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }
}
