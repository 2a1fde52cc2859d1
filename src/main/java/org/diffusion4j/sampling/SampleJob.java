package org.diffusion4j.sampling;

import org.diffusion4j.guidance.Guidance;

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
 */
public record SampleJob(SamplerSpec spec, Conditioning conditioning, Guidance guidance, int n, long seed,
                        int batchSize) {
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
    }

    /** An unconditional job. */
    public static SampleJob unconditional(SamplerSpec spec, int n, long seed, int batchSize) {
        return new SampleJob(spec, Conditioning.NONE, Guidance.of(1), n, seed, batchSize);
    }

    /** This job for one class: how {@link Conditioning.EveryClass} samples class k. */
    public SampleJob forClass(int label) {
        return new SampleJob(spec, new Conditioning.OneClass(label), guidance, n, seed, batchSize);
    }

    /** The number of samples the job makes on a model with {@code classes} classes. */
    public int total(int classes) {
        return conditioning instanceof Conditioning.EveryClass ? n * classes : n;
    }
}
