package org.diffusion4j.sampling;

import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.model.ConditionalDenoiser;
import org.diffusion4j.model.NetworkConfig;
import org.diffusion4j.schedule.DiffusionProcess;

/**
 * A model a {@link SampleJob} can run, whatever it was loaded from: a trained checkpoint, a diffusers folder (and
 * next, a Stable Diffusion pipeline). The CLI's {@code sample}, {@code eval} and the server sample through this.
 */
public interface SamplableModel {
    /**
     * The network read as a denoiser. Class-conditional models take int64 [B] labels, {@link #numClasses()} being
     * "no class"; unconditional models are called with null labels.
     */
    ConditionalDenoiser denoiser();

    /** The process the model was trained on, whose levels sampling walks. */
    DiffusionProcess process();

    /** One sample as the network sees it, without the batch dimension: [C, H, W], [2] or [L]. */
    long[] sampleShape();

    /** One sample as the user sees it ({@link #toOutput}): the decoded image shape for latent models. */
    default long[] outputShape() {
        return sampleShape();
    }

    /** The number of classes of a class-conditional model; 0 for an unconditional one. */
    int numClasses();

    /** What the samples stand for: a dataset id such as "mnist", "moons" or "waveforms", or a model's source. */
    String outputData();

    /** The prediction type of the network, e.g. "epsilon" or "flow". */
    String prediction();

    /** The network's config, for memory estimates. */
    NetworkConfig networkConfig();

    /** Whether exponential-moving-average weights were loaded rather than the raw ones. */
    default boolean usedEma() {
        return false;
    }

    /** Whether samples are latents that {@link #toOutput} decodes. */
    default boolean isLatent() {
        return false;
    }

    /**
     * Samples as the user sees them: decoded images for latent diffusion, unchanged otherwise.
     *
     * @param samples   [B, sampleShape...]
     * @param batchSize how many to decode at once
     * @return [B, outputShape...]
     */
    default Tensor toOutput(Tensor samples, int batchSize) {
        return samples;
    }

    /**
     * Data as the user sees it in the space the network samples: encoded (posterior mean times the scale factor) for
     * latent diffusion, unchanged otherwise.
     *
     * @param data [B, outputShape...]
     * @return [B, sampleShape...]
     */
    default Tensor toSampleSpace(Tensor data) {
        return data;
    }

    /**
     * An inpainting mask over the output, at the resolution the network samples: every f-th pixel (f the
     * autoencoder's factor) for latent diffusion, unchanged otherwise.
     *
     * @param mask [B, 1, H, W] or [B, outputShape...]
     */
    default Tensor maskToSampleSpace(Tensor mask) {
        return mask;
    }
}
