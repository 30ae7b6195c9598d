/// Package-wide constants.
public enum Sparrow {
    public static let version = "0.1.0"
}
