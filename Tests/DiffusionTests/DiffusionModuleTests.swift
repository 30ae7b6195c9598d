import SparrowDiffusion
import SparrowRuntime
import Testing

/// The diffusion module links against the runtime it computes with.
@Test func diffusionModuleUsesTheRuntimeVersion() {
    #expect(SparrowDiffusion.runtimeVersion == Sparrow.version)
}
