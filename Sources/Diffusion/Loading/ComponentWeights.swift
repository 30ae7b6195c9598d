import SparrowRuntime

/// The tensors of one pipeline component (text encoder, UNet, VAE, …) by their diffusers names,
/// read from one or more safetensors files and handed out as float32 with their shapes checked.
///
/// Loading refuses to guess: a missing tensor, a shape other than the one the configuration implies,
/// or (after `verifyAllUsed()`) a tensor nobody asked for is an error naming the tensor and the file.
/// Files may store F32, F16 or BF16; everything is computed in float32. A weight `X.weight` stored as
/// I8 (a folder written by `sparrow quantize --type int8`, see `QuantizedFolderWriter`) comes with
/// `X.weight_scale`, one F32 scale per output channel (first dimension): its floats are q · scale, and
/// unless `storage` says otherwise its layer keeps it as int8.
public final class ComponentWeights: @unchecked Sendable {
    /// What the weights are for, in error messages ("text encoder", "UNet", …).
    public let component: String
    /// How the component's linear and convolution weights stay resident: nil keeps the file's
    /// precision (F32 as float32, F16 and BF16 as float16); `.int8` quantizes them per output channel.
    public var storage: WeightStorage?
    /// Where each diffusers name is stored: the file, the name inside it, and for a stored tensor split
    /// along its first dimension, which of how many equal parts.
    private var locations: [String: Location] = [:]
    private var used: Set<String> = []

    private struct Location {
        let file: SafetensorsFile
        let name: String
        var part: (index: Int, count: Int)? = nil
    }

    /// What a single-file checkpoint's tensor becomes.
    public enum Renamed: Equatable {
        /// Not part of this component (EMA copies, loss weights, OpenCLIP's projection, …).
        case drop
        case name(String)
        /// Split along the first dimension into equal parts with these names (fused q/k/v projections).
        case split([String])
    }

    /// Every tensor of `files` under its own name (a diffusers folder's component).
    public convenience init(component: String, files: [SafetensorsFile]) throws {
        try self.init(component: component, files: files) { .name($0) }
    }

    /// The tensors of `file` whose names start with `prefix`, renamed by `rename` (stored name without
    /// the prefix → diffusers name(s)). Used for single-file checkpoints, whose original names map onto
    /// diffusers names through a rename table.
    public convenience init(component: String, file: SafetensorsFile, prefix: String, rename: (String) throws -> Renamed) throws {
        try self.init(component: component, files: [file]) { name in
            name.hasPrefix(prefix) ? try rename(String(name.dropFirst(prefix.count))) : .drop
        }
    }

    /// Every tensor of `files`, renamed by `rename` (stored name → diffusers name(s), or dropped).
    public init(component: String, files: [SafetensorsFile], rename: (String) throws -> Renamed) throws {
        self.component = component
        for file in files {
            for stored in file.tensorNames {
                let targets: [(String, (index: Int, count: Int)?)]
                switch try rename(stored) {
                case .drop: continue
                case .name(let name): targets = [(name, nil)]
                case .split(let names):
                    guard let rows = file.tensor(named: stored)?.shape.first, !names.isEmpty, rows % names.count == 0 else {
                        throw FormatError(file: file.path, offset: nil, message: "\(component): '\(stored)' does not split into \(names.count) equal parts")
                    }
                    targets = names.enumerated().map { ($1, (index: $0, count: names.count)) }
                }
                for (name, part) in targets {
                    if let other = locations[name] {
                        throw FormatError(file: file.path, offset: nil, message: "\(component): '\(stored)' and '\(other.name)' both map to '\(name)'")
                    }
                    locations[name] = Location(file: file, name: stored, part: part)
                }
            }
        }
    }

    /// Diffusers names of every tensor available.
    public var names: [String] { locations.keys.sorted() }

    public func contains(_ name: String) -> Bool { locations[name] != nil }

    /// The shape stored for `name` (after any split), or nil when absent.
    public func shape(of name: String) -> [Int]? {
        guard let l = locations[name], let info = l.file.tensor(named: l.name) else { return nil }
        return Self.shape(info, l.part)
    }

    /// Tensor `name` as float32 in its stored (row-major) order, after checking its shape. Trailing and
    /// leading 1-sized dimensions may differ (a 1×1 convolution's [O, I, 1, 1] serves a linear layer's
    /// [O, I]): the floats are the same.
    public func floats(_ name: String, shape: [Int]) throws -> [Float] {
        let (l, info) = try locate(name)
        let stored = Self.shape(info, l.part)
        guard stored == shape || stored.filter({ $0 != 1 }) == shape.filter({ $0 != 1 }) && stored.reduce(1, *) == shape.reduce(1, *) else {
            throw FormatError(file: l.file.path, offset: info.offset,
                              message: "\(component): tensor '\(l.name)' has shape \(stored), expected \(shape) from the configuration")
        }
        return try values(name, l, info)
    }

    /// Like `floats(_:shape:)` for a tensor whose shape is not fixed by the configuration (it is returned).
    public func floats(_ name: String) throws -> (values: [Float], shape: [Int]) {
        let (l, info) = try locate(name)
        return (try values(name, l, info), Self.shape(info, l.part))
    }

    /// How the layer whose weight is `name` keeps it: `storage` when set, else the stored precision.
    /// I8 stays int8 (re-quantizing q · scale per output channel gives back q and scale exactly), and so
    /// does anything else of a file `sparrow quantize` wrote (the CLIP token table then stays fp16 as
    /// with `--weights int8`), so such a file loads exactly as `--weights int8` loads the original.
    public func storage(of name: String) -> WeightStorage {
        if let storage { return storage }
        guard let l = locations[name], let info = l.file.tensor(named: l.name) else { return .float32 }
        if info.type == .i8 || l.file.metadata[QuantizedFolderWriter.metadataKey] == QuantizedFolderWriter.metadataValue { return .int8 }
        return info.type == .f32 ? .float32 : .float16
    }

    /// Marks `name` as used without reading it (buffers that carry no weights, such as position ids).
    public func ignore(_ name: String) { if locations[name] != nil { used.insert(name) } }

    /// Throws if a stored tensor was never asked for: a file built for another configuration.
    public func verifyAllUsed() throws {
        let unused = locations.keys.filter { !used.contains($0) }.sorted()
        guard let first = unused.first, let l = locations[first] else { return }
        let more = unused.count > 1 ? " (and \(unused.count - 1) more: \(unused.dropFirst().prefix(3).joined(separator: ", ")))" : ""
        throw FormatError(file: l.file.path, offset: nil,
                          message: "\(component): tensor '\(l.name)'\(more) is not used by the configuration; the weights and config.json do not belong together")
    }

    private func locate(_ name: String) throws -> (Location, SafetensorsFile.TensorInfo) {
        guard let l = locations[name], let info = l.file.tensor(named: l.name) else {
            let path = locations.values.first?.file.path ?? component
            throw FormatError(file: path, offset: nil, message: "\(component): tensor '\(name)' is missing")
        }
        return (l, info)
    }

    private static func shape(_ info: SafetensorsFile.TensorInfo, _ part: (index: Int, count: Int)?) -> [Int] {
        guard let part, let rows = info.shape.first else { return info.shape }
        return [rows / part.count] + info.shape.dropFirst()
    }

    /// The floats of tensor `name` at `l` (q · scale per row for I8), marked used with its scale.
    private func values(_ name: String, _ l: Location, _ info: SafetensorsFile.TensorInfo) throws -> [Float] {
        guard info.type == .i8 else {
            used.insert(name)
            return Self.values(l, info)
        }
        let scaleName = name + Self.scaleSuffix
        guard let s = locations[scaleName], let scaleInfo = s.file.tensor(named: s.name) else {
            throw FormatError(file: l.file.path, offset: info.offset,
                              message: "\(component): tensor '\(l.name)' is I8 but its scale '\(scaleName)' is missing; re-run `sparrow quantize` on the original folder")
        }
        guard scaleInfo.type != .i8, let rows = info.shape.first, scaleInfo.shape == [rows], s.part?.count == l.part?.count else {
            throw FormatError(file: s.file.path, offset: scaleInfo.offset,
                              message: "\(component): scale '\(s.name)' is \(scaleInfo.type) \(scaleInfo.shape), expected float [\(info.shape.first ?? 0)] (one per output channel of '\(l.name)')")
        }
        var values = Self.values(l, info)
        let scales = Self.values(s, scaleInfo)
        let columns = scales.isEmpty ? 0 : values.count / scales.count
        for r in scales.indices {
            for i in (r * columns)..<((r + 1) * columns) { values[i] *= scales[r] }
        }
        used.insert(name)
        used.insert(scaleName)
        return values
    }

    /// Suffix of the per-output-channel scales of an I8 weight (compressed-tensors' `weight_scale` name).
    static let scaleSuffix = "_scale"

    /// The floats of a tensor (or its part), after which its file pages leave resident memory: the
    /// layers keep their own packed copy, so a whole checkpoint is never resident twice.
    private static func values(_ l: Location, _ info: SafetensorsFile.TensorInfo) -> [Float] {
        let all = l.file.floats(of: info)
        l.file.release(info)
        guard let part = l.part else { return all }
        let size = all.count / part.count
        return Array(all[(part.index * size)..<((part.index + 1) * size)])
    }
}
