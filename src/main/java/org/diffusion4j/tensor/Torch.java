package org.diffusion4j.tensor;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;

/**
 * Loads libtorch once per JVM and fixes its thread count.
 *
 * <p>{@link #main} is the native-cache warm-up: the build runs it in a single JVM before any test JVM
 * starts, because racing fresh JVMs on an empty {@code ~/.javacpp/cache} has crashed natively.
 */
public final class Torch {
    private static volatile boolean loaded;

    static {
        // JavaCPP otherwise reads /proc/self/statm on every native allocation (~0.1 ms each, dominating small ops).
        // Effective only if no JavaCPP Pointer class has been initialised yet; the launcher and the build set it too.
        if (System.getProperty("org.bytedeco.javacpp.maxPhysicalBytes") == null) {
            System.setProperty("org.bytedeco.javacpp.maxPhysicalBytes", "0");
        }
    }

    private Torch() {}

    /** Loads the natives (idempotent) and sets intra-op threads from {@code diffusion4j.threads} or the core count. */
    public static synchronized void init() {
        if (loaded) {
            return;
        }
        Loader.load(torch.class);
        int threads = Integer.getInteger("diffusion4j.threads", Runtime.getRuntime().availableProcessors());
        if (threads < 1) {
            throw new IllegalArgumentException("diffusion4j.threads must be >= 1, got " + threads);
        }
        torch.set_num_threads(threads);
        // OpenBLAS's own pthreads spin for a while after every call, stealing the cores libtorch's OpenMP workers
        // need next: measured on 2 cores, a small U-Net train step ran 3.7x and a wide one 1.5x faster with one BLAS
        // thread, at the price of single-threaded fp32 GEMMs (about half the matmul peak), which a U-Net barely uses.
        int blas = Integer.getInteger("diffusion4j.blasThreads", 1);
        if (blas < 1) {
            throw new IllegalArgumentException("diffusion4j.blasThreads must be >= 1, got " + blas);
        }
        org.bytedeco.openblas.presets.openblas_nolapack.blas_set_num_threads(blas);
        loaded = true;
    }

    /** Warms the native cache and prints what was loaded. */
    public static void main(String[] args) {
        long start = System.nanoTime();
        init();
        try (var scope = new PointerScope()) {
            double check = torch.ones(2, 2).sum().item_double();
            if (check != 4.0) {
                throw new IllegalStateException("libtorch self-check failed: sum(ones(2,2)) = " + check);
            }
        }
        System.out.printf("libtorch natives ready (%d threads, %.1f s)%n",
                torch.get_num_threads(), (System.nanoTime() - start) / 1e9);
    }
}
