import CSparrowKernels

/// Process-wide memory settings that belong to a program, not a library.
public enum ProcessMemory {
    /// Serve large buffers from the heap and keep freed memory for reuse (glibc malloc settings;
    /// see sp_keep_freed_memory). Diffusion frees and allocates 100+ MB feature maps every layer; without
    /// this each one is a fresh mmap whose pages fault in (and are zeroed by the kernel) again — ≈ 10 %
    /// of a VAE decode. Memory is never returned to the system afterwards, so call it only in programs
    /// that run such a workload (`sparrow imagine`, diffusion-bench).
    public static func keepFreedMemoryForReuse() {
        sp_keep_freed_memory()
    }
}
