package org.diffusion4j.tensor;

import org.bytedeco.pytorch.DimnameListOptional;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A seeded libtorch generator, always passed in explicitly (nothing here touches torch's global generator).
 * With the same seed, {@link #randn} equals PyTorch's {@code torch.randn(..., generator=Generator().manual_seed(seed))}.
 *
 * <p>A generator lives on a device and draws there, as in PyTorch: a CUDA generator (Philox) gives other values than
 * the CPU one (Mersenne Twister) for the same seed. Training draws on the CPU, so a run is the same on every device.
 *
 * <p>Independent streams come from {@link #derive}: {@code derive(seed, step)} gives every training step or
 * sample index its own generator, so results depend only on (seed, index), never on how work was batched
 * or on how many draws came before.
 */
public final class Rng {
    private final long seed;
    private final DeviceSpec device;
    private final Generator generator;
    private final GeneratorOptional optional;

    private Rng(long seed, DeviceSpec device) {
        Torch.init();
        this.seed = seed;
        this.device = device;
        if (device.isCpu()) {
            this.generator = torch.make_generator_cpu(seed);
        } else {
            device.requireAvailable("generator device");
            this.generator = torch.getCUDAHooks().getNewGenerator((byte) device.index());
            generator.set_current_seed(seed);
        }
        this.optional = new GeneratorOptional(generator);
    }

    /** A CPU generator seeded exactly like {@code torch.Generator().manual_seed(seed)}. */
    public static Rng of(long seed) {
        return new Rng(seed, DeviceSpec.CPU);
    }

    /** A generator on {@code device} seeded like {@code torch.Generator(device).manual_seed(seed)}. */
    public static Rng of(long seed, DeviceSpec device) {
        return new Rng(seed, device);
    }

    /** A CPU generator for the stream identified by {@code keys} under {@code seed}, e.g. (seed, step). */
    public static Rng derive(long seed, long... keys) {
        return new Rng(mix(seed, keys), DeviceSpec.CPU);
    }

    /** As {@link #derive(long, long...)}, drawing on {@code device}. */
    public static Rng derive(DeviceSpec device, long seed, long... keys) {
        return new Rng(mix(seed, keys), device);
    }

    /** The seed {@link #derive} would use, for streams that are not libtorch generators. */
    public static long deriveSeed(long seed, long... keys) {
        return mix(seed, keys);
    }

    /** The device this generator draws on. */
    public DeviceSpec device() {
        return device;
    }

    /** The seed this generator started from. */
    public long seed() {
        return seed;
    }

    /** Standard normal float32 samples of the given shape. */
    public Tensor randn(long... shape) {
        return randn(torch.ScalarType.Float, shape);
    }

    /** Standard normal samples of the given dtype and shape. */
    public Tensor randn(torch.ScalarType dtype, long... shape) {
        return torch.randn(shape, optional, device.options(dtype));
    }

    /** Uniform [0, 1) float32 samples. */
    public Tensor rand(long... shape) {
        return torch.rand(shape, optional, new DimnameListOptional(),
                device.options(torch.ScalarType.Float));
    }

    /** Uniform integers in [low, high) as int64. */
    public Tensor randint(long low, long high, long... shape) {
        if (high <= low) {
            throw new IllegalArgumentException("randint: need low < high, got [" + low + ", " + high + ")");
        }
        return torch.randint(low, high, shape, optional, device.options(torch.ScalarType.Long));
    }

    /** A random permutation of 0..n-1 as int64. */
    public Tensor randperm(long n) {
        return torch.randperm(n, optional, device.options(torch.ScalarType.Long));
    }

    /** The libtorch generator, for ops that take one directly. */
    public GeneratorOptional generator() {
        return optional;
    }

    /** SplitMix64 over the seed and keys: well-separated seeds for nearby (seed, index) pairs. */
    static long mix(long seed, long... keys) {
        long h = splitMix(seed ^ 0x9E3779B97F4A7C15L);
        for (long k : keys) {
            h = splitMix(h ^ splitMix(k + 0x632BE59BD9B4E019L));
        }
        // libtorch seeds are uint64; keep them non-negative so they print and round-trip through JSON cleanly.
        return h & Long.MAX_VALUE;
    }

    private static long splitMix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
