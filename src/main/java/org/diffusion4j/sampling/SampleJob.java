package org.diffusion4j.sampling;

import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/**
 * What to sample, independent of the model: the sampler, the conditioning, the count and the seed. Sample i of a job
 * depends only on (seed, class, i): the batch size changes speed, never results.
 *
 * @param spec         the sampler and its settings
 * @param conditioning unconditional, one class, or every class in turn
 * @param guidance     classifier-free guidance ({@code Guidance.of(1)}: none); only with a class
 * @param n            samples in all, or per class for {@link Conditioning.EveryClass}
 * @param seed         the job's seed
 * @param batchSize    samples per forward pass
 * @param start        null to start from noise; else the data img2img and inpainting start from
 */
public record SampleJob(SamplerSpec spec, Conditioning conditioning, Guidance guidance, int n, long seed,
                        int batchSize, Start start) {
    /**
     * Starting from data instead of noise. SDEdit (Meng et al. 2022, "img2img"): the data is noised to the step that
     * {@code strength} selects on the sampler's own schedule ({@code N - int(N * strength)} of its N steps, as
     * diffusers) and denoised from there. With a mask, inpainting: every evaluation sees the kept region as the data
     * noised to its level (RePaint's replacement step, {@link org.diffusion4j.guidance.Inpainting}), and the result
     * keeps it exactly.
     *
     * @param data     [1 or n, outputShape...], as the user sees samples (images in [-1, 1])
     * @param strength in (0, 1]: the share of the sampler's steps run
     * @param mask     null, or [1 or n, 1, H, W] for images ([1 or n, outputShape...] otherwise): 1 where the model
     *                 paints, 0 where the data is kept
     */
    public record Start(Tensor data, double strength, Tensor mask) {
        public Start {
            if (data == null) {
                throw new IllegalArgumentException("the data to start from must be set");
            }
            if (!(strength > 0 && strength <= 1)) {
                throw new IllegalArgumentException("strength must be in (0, 1], got " + strength);
            }
            if (mask != null && (mask.dim() != data.dim() || (mask.size(1) != 1 && mask.size(1) != data.size(1)))) {
                throw new IllegalArgumentException("mask " + Shapes.str(mask) + " does not fit "
                        + "the data " + Shapes.str(data));
            }
            // Binary where it enters, as diffusers makes it: 1 (repaint) from 0.5 up.
            mask = mask == null ? null : Tensors.binaryMask(mask);
        }
    }

    /** A job from noise. */
    public SampleJob(SamplerSpec spec, Conditioning conditioning, Guidance guidance, int n, long seed, int batchSize) {
        this(spec, conditioning, guidance, n, seed, batchSize, null);
    }

    /** Which class the samples are of. */
    public sealed interface Conditioning {
        /** The model's whole distribution (its "no class" half for a class-conditional model). */
        record Unconditional() implements Conditioning {}

        /** One class of a class-conditional model, under the job's guidance. */
        record OneClass(int label) implements Conditioning {
            public OneClass {
                if (label < 0) {
                    throw new IllegalArgumentException("class must be >= 0, got " + label);
                }
            }
        }

        /** Every class of a class-conditional model in order, n samples each; class k is the job of OneClass(k). */
        record EveryClass() implements Conditioning {}

        Conditioning NONE = new Unconditional();
    }

    public SampleJob {
        if (spec == null || conditioning == null || guidance == null) {
            throw new IllegalArgumentException("sampler, conditioning and guidance must be set");
        }
        if (n < 1) {
            throw new IllegalArgumentException("--n must be >= 1, got " + n);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size must be >= 1, got " + batchSize);
        }
        if (conditioning instanceof Conditioning.Unconditional && !guidance.equals(Guidance.of(1))) {
            throw new IllegalArgumentException("--guidance needs --class: guidance pulls towards a class");
        }
        if (start != null) {
            for (Tensor t : start.mask() == null ? new Tensor[] {start.data()} : new Tensor[] {start.data(),
                    start.mask()}) {
                if (t.size(0) != 1 && t.size(0) != n) {
                    throw new IllegalArgumentException("init data and mask: " + t.size(0) + " rows for " + n
                            + " samples (give 1 or n)");
                }
            }
        }
    }

    /** An unconditional job. */
    public static SampleJob unconditional(SamplerSpec spec, int n, long seed, int batchSize) {
        return new SampleJob(spec, Conditioning.NONE, Guidance.of(1), n, seed, batchSize);
    }

    /** This job for one class: how {@link Conditioning.EveryClass} samples class k. */
    public SampleJob forClass(int label) {
        return new SampleJob(spec, new Conditioning.OneClass(label), guidance, n, seed, batchSize, start);
    }

    /** The number of samples the job makes on a model with {@code classes} classes. */
    public int total(int classes) {
        return conditioning instanceof Conditioning.EveryClass ? n * classes : n;
    }
}
