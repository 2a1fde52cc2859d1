package org.diffusion4j.diffusers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.guidance.ClassifierFreeGuidance;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.model.FiniteDenoiser;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.NetworkDenoiser;
import org.diffusion4j.model.text.PromptEncoder;
import org.diffusion4j.model.unet.UNet2DConditionModel;
import org.diffusion4j.sampler.NoiseSource;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.tensor.Autocast;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/**
 * A diffusers {@code StableDiffusionPipeline} folder: prompt encoder, conditional U-Net, VAE and scheduler config,
 * run as diffusers runs text-to-image. Classifier-free guidance (when the scale is above 1) batches the prompt and
 * the negative prompt ("" when none) through one U-Net pass per step.
 *
 * <pre>{@code
 * StableDiffusion sd = StableDiffusion.load(Path.of("stable-diffusion-v1-5"));
 * Tensor image = sd.generate("an astronaut riding a horse");   // [1, 3, 512, 512] in [-1, 1]
 * }</pre>
 *
 * @param schedulerClass  the scheduler's diffusers class name, e.g. PNDMScheduler
 * @param schedulerConfig its config (scheduler/scheduler_config.json unless replaced by {@link #withScheduler})
 */
public record StableDiffusion(PromptEncoder text, UNet2DConditionModel unet, DiffusersVae vae, String schedulerClass,
                              JsonNode schedulerConfig) {
    /**
     * What to draw. Image i of a request depends only on (seed, i) (its starting latents and any sampler noise come
     * from its own stream), so n and the batch size change speed, not images.
     *
     * @param prompt         the text
     * @param negativePrompt what to steer away from with guidance; null = "" (diffusers' default)
     * @param guidance       classifier-free guidance scale; above 1 the prompt and the negative prompt run as one
     *                       batch, at 1 or below the prompt alone (diffusers' rule)
     * @param steps          denoising steps of the scheduler or sampler
     * @param width          image width in pixels; 0 = the model's default (U-Net sample size x VAE factor)
     * @param height         image height in pixels; 0 = the model's default
     * @param n              images to draw
     * @param seed           seeds the starting latents and any sampler noise
     * @param batchSize      images per U-Net pass (twice that many rows with guidance)
     * @param bf16           run the U-Net under bfloat16 autocast (weights stay as loaded; text encoder and VAE in
     *                       float32, as diffusers upcasts the VAE)
     * @param clipSkip       use the text encoder's hidden state this many layers before the last (0 = last)
     */
    public record Request(String prompt, String negativePrompt, double guidance, int steps, int width, int height,
                          int n, long seed, int batchSize, boolean bf16, int clipSkip) {
        public Request {
            if (prompt == null) {
                throw new IllegalArgumentException("prompt must be set (it may be empty)");
            }
            if (!(guidance >= 0) || Double.isInfinite(guidance)) {
                throw new IllegalArgumentException("guidance must be finite and >= 0, got " + guidance);
            }
            if (steps < 1) {
                throw new IllegalArgumentException("steps must be >= 1, got " + steps);
            }
            if (width < 0 || height < 0) {
                throw new IllegalArgumentException("width and height must be >= 0 (0 = the model's), got " + width
                        + "x" + height);
            }
            if (n < 1) {
                throw new IllegalArgumentException("n must be >= 1, got " + n);
            }
            if (batchSize < 1) {
                throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
            }
            if (clipSkip < 0) {
                throw new IllegalArgumentException("clip skip must be >= 0, got " + clipSkip);
            }
        }

        /** diffusers' defaults for one image: guidance 7.5, 50 steps, the model's size, seed 0, float32. */
        public static Request of(String prompt) {
            return new Request(prompt, null, 7.5, 50, 0, 0, 1, 0, 1, false, 0);
        }
    }

    /**
     * Loads {@code model_index.json}, {@code tokenizer/}, {@code text_encoder/}, {@code unet/}, {@code vae/} and the
     * scheduler config. A single-file checkpoint (one .safetensors or .ckpt) is refused with the way to convert it.
     */
    public static StableDiffusion load(Path dir) throws IOException {
        if (Files.isRegularFile(dir)) {
            throw new IOException(dir + ": a single-file checkpoint; diffusion4j loads diffusers pipeline folders "
                    + "(model_index.json with tokenizer/, text_encoder/, unet/, vae/, scheduler/). Convert it once with "
                    + "diffusers: StableDiffusionPipeline.from_single_file(path).save_pretrained(folder, "
                    + "safe_serialization=True)");
        }
        Path index = dir.resolve("model_index.json");
        JsonNode idx = Json.readFile(index);
        String cls = idx.path("_class_name").asText("");
        if (!cls.equals("StableDiffusionPipeline")) {
            throw new IOException(index + ": _class_name '" + cls + "' is not StableDiffusionPipeline");
        }
        Path sched = dir.resolve("scheduler").resolve("scheduler_config.json");
        JsonNode sc = Json.readFile(sched);
        StableDiffusion sd = new StableDiffusion(PromptEncoder.load(dir), UNet2DConditionModel.load(dir.resolve("unet")),
                DiffusersVae.load(dir.resolve("vae")), sc.path("_class_name").asText(""), sc);
        try {
            sd.scheduler(10);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(sched + ": " + e.getMessage(), e);
        }
        return sd;
    }

    /** This pipeline with another scheduler config (its {@code _class_name} names the class), as {@code pipe.scheduler = X.from_config(...)}. */
    public StableDiffusion withScheduler(JsonNode config) {
        String cls = config.path("_class_name").asText("");
        StableDiffusion sd = new StableDiffusion(text, unet, vae, cls, config);
        sd.scheduler(10);
        return sd;
    }

    /** The VAE's spatial factor, 2^(levels - 1): 8 for SD. */
    public int vaeFactor() {
        return vae.vae().config().factor();
    }

    /** Image sides must be multiples of this: the VAE factor times the U-Net's total downsampling. */
    public int sizeMultiple() {
        return vaeFactor() << (unet.config().blockOutChannels().size() - 1);
    }

    /** The default image side: the U-Net's sample size times the VAE factor (512 for SD 1.5). */
    public int defaultSize() {
        return unet.config().sampleSize() * vaeFactor();
    }

    /** The prompt with diffusers' defaults ({@link Request#of}): one image [1, 3, H, W] in [-1, 1], unclamped. */
    public Tensor generate(String prompt) {
        return generate(Request.of(prompt), null, null, StepListener.NONE);
    }

    /**
     * Draws {@code r.n()} images.
     *
     * @param sampler  one of diffusion4j's samplers on the scheduler's training schedule, or null for the folder's
     *                 scheduler as diffusers runs it
     * @param latents  the starting noise, standard normal [n, 4, h, w] (diffusers' {@code latents} argument, before
     *                 its {@code init_noise_sigma}), or null to draw it from (seed, i); when given, its h and w fix the
     *                 size (width and height must be 0 or agree)
     * @param progress sees every U-Net evaluation of every batch
     * @return float32 [n, 3, H, W], unclamped (the data range is [-1, 1])
     */
    public Tensor generate(Request r, SamplerSpec sampler, Tensor latents, StepListener progress) {
        long[] size = latentSize(r, latents);
        DiffusersScheduler s = scheduler(r.steps());
        DiffusionProcess process = null;
        if (sampler != null) {
            if (s.schedule() == null) {
                throw new IllegalArgumentException("--sampler: " + schedulerClass + " has no DDPM training schedule "
                        + "for diffusion4j's samplers; use the folder's scheduler");
            }
            process = new DiffusionProcess.Ddpm(s.schedule());
        }
        int channels = unet.config().inChannels();
        Tensor out = torch.empty(new long[] {r.n(), vae.vae().config().inChannels(), size[0] * vaeFactor(),
                size[1] * vaeFactor()}, new TensorOptions(torch.ScalarType.Float), new MemoryFormatOptional());
        try (NoGradGuard guard = new NoGradGuard()) {
            boolean cfg = r.guidance() > 1;
            Tensor embeddings = cfg ? text.encode(List.of(r.prompt(), r.negativePrompt() == null ? ""
                    : r.negativePrompt()), r.clipSkip()) : text.encode(List.of(r.prompt()), r.clipSkip());
            NetworkDenoiser d = new NetworkDenoiser(network(embeddings, r.bf16()), s.prediction());
            Denoiser guided = new FiniteDenoiser(cfg ? new ClassifierFreeGuidance(d, 0, 1, Guidance.of(r.guidance()))
                    : d);
            for (int start = 0; start < r.n(); start += r.batchSize()) {
                int b = Math.min(r.batchSize(), r.n() - start);
                try (PointerScope scope = new PointerScope()) {
                    NoiseSource noise = NoiseSource.perSample(r.seed(), start, b);
                    Tensor x = latents != null ? latents.narrow(0, start, b)
                            : noise.next(b, channels, size[0], size[1]);
                    Tensor z;
                    if (sampler != null) {
                        z = sampler.run(guided, process, x, noise, progress);
                    } else {
                        Tensor xT = x.mul(Tensors.scalar(s.initNoiseSigma() * s.stateScale(s.levels().get(0))));
                        Tensor last = s.sample(guided, xT, noise, progress);
                        z = last.div(Tensors.scalar(s.stateScale(s.levels().get(s.levels().size() - 1))));
                    }
                    out.narrow(0, start, b).copy_(vae.vae().decode(z.div(Tensors.scalar(vae.scalingFactor()))));
                }
            }
        }
        return out;
    }

    /**
     * As diffusers' {@code pipe(prompt, negative_prompt, guidance_scale, num_inference_steps, latents)} with a
     * scheduler config of class {@code schedulerClassName} (null: the folder's).
     *
     * @param latents the starting noise, standard normal [B, 4, h, w]
     * @return the decoded images [B, 3, 8h, 8w], unclamped (the data range is [-1, 1])
     */
    public Tensor generate(String prompt, String negativePrompt, double guidance, int steps, Tensor latents,
                           String schedulerClassName, JsonNode scheduler, long seed) {
        StableDiffusion sd = this;
        if (scheduler != null) {
            JsonNode config = scheduler.deepCopy();
            if (schedulerClassName != null && config.isObject()) {
                ((ObjectNode) config).put("_class_name", schedulerClassName);
            }
            sd = withScheduler(config);
        }
        int n = (int) latents.size(0);
        return sd.generate(new Request(prompt, negativePrompt, guidance, steps, 0, 0, n, seed, n, false, 0), null,
                latents, StepListener.NONE);
    }

    private DiffusersScheduler scheduler(int steps) {
        return DiffusersScheduler.of(schedulerClass, schedulerConfig, steps, null, null);
    }

    /** [h, w] of the latents for {@code r}, checked against the model's size multiple and any given latents. */
    private long[] latentSize(Request r, Tensor latents) {
        int f = vaeFactor();
        if (latents != null) {
            Shapes.require(latents, "latents", r.n(), unet.config().inChannels(), Shapes.ANY, Shapes.ANY);
            long h = latents.size(2);
            long w = latents.size(3);
            if ((r.width() != 0 && r.width() != w * f) || (r.height() != 0 && r.height() != h * f)) {
                throw new IllegalArgumentException("--width/--height " + r.width() + "x" + r.height() + " disagree "
                        + "with the latents' " + w * f + "x" + h * f);
            }
            requireMultiple(w * f, h * f);
            return new long[] {h, w};
        }
        int width = r.width() == 0 ? defaultSize() : r.width();
        int height = r.height() == 0 ? defaultSize() : r.height();
        requireMultiple(width, height);
        return new long[] {height / f, width / f};
    }

    private void requireMultiple(long width, long height) {
        int m = sizeMultiple();
        if (width % m != 0 || height % m != 0) {
            throw new IllegalArgumentException("--width/--height must be multiples of " + m + " for this model (the "
                    + "VAE scales by " + vaeFactor() + " and the U-Net halves " + (unet.config().blockOutChannels()
                    .size() - 1) + " times), got " + width + "x" + height);
        }
    }

    /** The U-Net seen as a class-conditional network whose label picks a row of {@code embeddings} [k, 77, D]. */
    private Network network(Tensor embeddings, boolean bf16) {
        return new Network() {
            @Override
            public Tensor forward(Tensor x, Tensor t, Tensor labels) {
                Tensor rows = labels != null ? labels : torch.zeros(x.size(0)).to(torch.ScalarType.Long);
                try (Autocast cast = Autocast.bf16(bf16)) {
                    return unet.forward(x, t, embeddings.index_select(0, rows)).to(torch.ScalarType.Float);
                }
            }

            @Override
            public Module module() {
                return unet;
            }
        };
    }
}
