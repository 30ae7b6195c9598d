import Foundation

/// Where fetched model files live: `$SPARROW_MODELS` if set, else `$XDG_CACHE_HOME/sparrow/models`,
/// else `~/.cache/sparrow/models`. A model with manifest id ID and file name F is stored at
/// `<directory>/ID/F`.
public enum ModelStore {
    public static var directory: String {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["SPARROW_MODELS"], !dir.isEmpty { return dir }
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/sparrow/models" }
        return NSHomeDirectory() + "/.cache/sparrow/models"
    }

    /// The path a model file with this manifest id and file name is stored at.
    public static func path(id: String, fileName: String) -> String {
        directory + "/" + id + "/" + fileName
    }
}
