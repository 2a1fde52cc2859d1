package org.diffusion4j.diffusers;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.guidance.ClassifierFreeGuidance;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.guidance.Inpainting;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.model.FiniteDenoiser;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.autoencoder.AutoencoderKL;
import org.diffusion4j.model.NetworkDenoiser;
import org.diffusion4j.model.text.PromptEncoder;
import org.diffusion4j.model.unet.UNet2DConditionModel;
import org.diffusion4j.sampler.NoiseSource;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.schedule.NoiseLevel;
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
     * Starting from an image. Without a mask, img2img (SDEdit, Meng et al. 2022) as diffusers'
     * StableDiffusionImg2ImgPipeline: the image is encoded (a posterior draw times the VAE's scaling factor), noised
     * to the step that {@code strength} selects ({@code N - int(N * strength)} of the N steps) and denoised from there.
     * With a mask, inpainting as diffusers' StableDiffusionInpaintPipeline: an inpainting U-Net (9 input channels)
     * gets the mask and the masked image's latents beside its latents; any other U-Net gets the known region replaced
     * at every evaluation ({@link Inpainting}); strength 1 starts from pure noise.
     *
     * @param image    [1 or n, 3, H, W] in [-1, 1]; one image starts every draw. H and W fix the output size
     * @param strength in (0, 1]: the share of the steps run
     * @param mask     null, or [1 or n, 1, H, W]: 1 (above 0.5) where the model paints, 0 where the image is kept
     */
    public record Init(Tensor image, double strength, Tensor mask) {
        public Init {
            if (image == null) {
                throw new IllegalArgumentException("init image must be set");
            }
            Shapes.require(image, "init image", Shapes.ANY, Shapes.ANY, Shapes.ANY, Shapes.ANY);
            if (!(strength > 0 && strength <= 1)) {
                throw new IllegalArgumentException("strength must be in (0, 1], got " + strength);
            }
            if (mask != null) {
                Shapes.require(mask, "mask", Shapes.ANY, 1, image.size(2), image.size(3));
                mask = Tensors.binaryMask(mask);
            }
        }

        /** img2img. */
        public Init(Tensor image, double strength) {
            this(image, strength, null);
        }
    }

    /** Where each batch's noise comes from: rows {@code first ..} of a request get their own streams. */
    @FunctionalInterface
    interface NoiseStreams {
        NoiseSource of(long first, int rows);
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
        if (!cls.equals("StableDiffusionPipeline") && !cls.equals("StableDiffusionInpaintPipeline")
                && !cls.equals("StableDiffusionImg2ImgPipeline")) {
            throw new IOException(index + ": _class_name '" + cls + "' is not a Stable Diffusion pipeline "
                    + "(StableDiffusionPipeline, StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline)");
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

    /**
     * Images of latents as the samplers hold them (scaled by the VAE's factor), for previews of a run.
     *
     * @param latents [B, latent channels, h, w]
     * @return [B, image channels, h * f, w * f] in [-1, 1], unclamped
     */
    public Tensor decodeLatents(Tensor latents) {
        try (NoGradGuard guard = new NoGradGuard()) {
            return vae.vae().decode(latents.to(torch.ScalarType.Float).div(Tensors.scalar(vae.scalingFactor())));
        }
    }

    /** Channels of the images the VAE takes and gives (3 for Stable Diffusion, 1 for grey models). */
    public int imageChannels() {
        return vae.vae().config().inChannels();
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
     * Draws {@code r.n()} images from noise (text-to-image).
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
        return generate(r, null, sampler, latents, progress);
    }

    /**
     * Draws {@code r.n()} images, from noise or (with {@code init}) from an image.
     *
     * @param init     img2img's image and strength, or null; its size fixes the output's (width and height must be
     *                 0 or agree), and it excludes {@code latents}
     * @see #generate(Request, SamplerSpec, Tensor, StepListener)
     */
    public Tensor generate(Request r, Init init, SamplerSpec sampler, Tensor latents, StepListener progress) {
        return generate(r, init, sampler, latents, progress, (first, rows) -> NoiseSource.perSample(r.seed(), first,
                rows));
    }

    /** As above, with the noise of each batch from {@code noises} (tests replay diffusers' recorded draws). */
    Tensor generate(Request r, Init init, SamplerSpec sampler, Tensor latents, StepListener progress,
                    NoiseStreams noises) {
        long[] pixels = imageSize(r, init, latents);
        long[] size = {pixels[0] / vaeFactor(), pixels[1] / vaeFactor()};
        boolean pureNoise = init == null || (init.mask() != null && init.strength() == 1);
        int latentChannels = vae.vae().config().latentChannels();
        boolean inpaintingUnet = isInpainting();
        DiffusersScheduler s = scheduler(r.steps());
        DiffusionProcess process = sampler == null ? null : s.ddpmProcess();
        int from = init == null ? 0 : sampler != null ? sampler.startIndex(process, init.strength())
                : s.startIndex(init.strength());
        NoiseLevel start = sampler != null ? sampler.startLevel(process, from) : s.levels().get(from);
        Tensor out = torch.empty(new long[] {r.n(), vae.vae().config().inChannels(), size[0] * vaeFactor(),
                size[1] * vaeFactor()}, new TensorOptions(torch.ScalarType.Float), new MemoryFormatOptional());
        try (NoGradGuard guard = new NoGradGuard()) {
            boolean cfg = r.guidance() > 1;
            Tensor embeddings = cfg ? text.encode(List.of(r.prompt(), r.negativePrompt() == null ? ""
                    : r.negativePrompt()), r.clipSkip()) : text.encode(List.of(r.prompt()), r.clipSkip());
            long[] shape = {0, latentChannels, size[0], size[1]};
            for (int first = 0; first < r.n(); first += r.batchSize()) {
                int b = Math.min(r.batchSize(), r.n() - first);
                shape[0] = b;
                try (PointerScope scope = new PointerScope()) {
                    NoiseSource noise = noises.of(first, b);
                    // diffusers' draws, in its order: the image's posterior (unless starting from pure noise), the
                    // starting noise, then the masked image's posterior (inpainting U-Nets).
                    Tensor images = init == null ? null : Tensors.rows(init.image(), first, b);
                    boolean replaceKnown = init != null && init.mask() != null && !inpaintingUnet;
                    Tensor x0 = pureNoise && !replaceKnown ? null : encode(images, noise);
                    Tensor eps = latents != null ? latents.narrow(0, first, b) : noise.next(shape);
                    Tensor x;
                    if (pureNoise) {
                        // diffusers starts its own sample at randn * init_noise_sigma, in its state convention.
                        x = sampler != null ? eps : eps.mul(Tensors.scalar(s.initNoiseSigma() * s.stateScale(start)));
                    } else {
                        x = x0.mul(Tensors.scalar(start.alpha())).add(eps.mul(Tensors.scalar(start.sigma())));
                    }
                    Tensor mask = null;
                    Tensor extra = null;
                    if (init != null && init.mask() != null) {
                        Tensor m = Tensors.rows(init.mask(), first, b);
                        mask = m.slice(2, new LongOptional(0), new LongOptional(m.size(2)), vaeFactor())
                                .slice(3, new LongOptional(0), new LongOptional(m.size(3)), vaeFactor()).contiguous();
                        if (inpaintingUnet) {
                            Tensor keep = torch.ones_like(m).sub(m);
                            extra = torch.cat(new TensorVector(mask, encode(images.mul(keep), noise)), 1);
                        }
                    }
                    NetworkDenoiser d = new NetworkDenoiser(network(embeddings, r.bf16(), extra), s.prediction());
                    Denoiser guided = new FiniteDenoiser(cfg ? new ClassifierFreeGuidance(d, 0, 1,
                            Guidance.of(r.guidance())) : d);
                    Inpainting known = null;
                    if (replaceKnown) {
                        known = new Inpainting(guided, x0, mask, eps);
                        guided = known;
                    }
                    Tensor z;
                    if (sampler != null) {
                        z = sampler.run(guided, process, x, from, noise, progress);
                    } else {
                        Tensor last = s.sample(guided, x, from, noise, progress);
                        z = last.div(Tensors.scalar(s.stateScale(s.levels().get(s.levels().size() - 1))));
                    }
                    if (known != null) {
                        z = known.finish(z);
                    }
                    out.narrow(0, first, b).copy_(vae.vae().decode(z.div(Tensors.scalar(vae.scalingFactor()))));
                }
            }
        }
        return out;
    }

    /** Latents of images in [-1, 1]: a posterior draw times the scaling factor, as diffusers' pipelines encode. */
    private Tensor encode(Tensor images, NoiseSource noise) {
        AutoencoderKL.Posterior p = vae.vae().encode(images);
        return p.mean().add(p.std().mul(noise.next(Shapes.of(p.mean())))).mul(Tensors.scalar(vae.scalingFactor()));
    }

    private DiffusersScheduler scheduler(int steps) {
        return DiffusersScheduler.of(schedulerClass, schedulerConfig, steps, null, null);
    }

    /** True for an inpainting U-Net, which takes the mask and the masked image's latents beside its latents. */
    public boolean isInpainting() {
        return unet.config().inChannels() == 2 * vae.vae().config().latentChannels() + 1;
    }

    /**
     * Checks a request's inputs against each other and this model before any work: latents only where they are the
     * starting noise, one or n init images and masks, a mask for an inpainting U-Net, sizes that agree and are
     * multiples of {@link #sizeMultiple}.
     *
     * @return the output's [H, W] in pixels
     * @throws IllegalArgumentException naming what disagrees
     */
    public long[] imageSize(Request r, Init init, Tensor latents) {
        boolean pureNoise = init == null || (init.mask() != null && init.strength() == 1);
        if (latents != null && !pureNoise) {
            throw new IllegalArgumentException("latents are the starting noise of text-to-image and of inpainting at "
                    + "strength 1; img2img makes its starting latents from the image");
        }
        if (init != null && init.image().size(1) != imageChannels()) {
            throw new IllegalArgumentException("the init image has " + init.image().size(1) + " channels; this "
                    + "pipeline's VAE takes " + imageChannels());
        }
        if (init != null) {
            for (Tensor t : init.mask() == null ? List.of(init.image()) : List.of(init.image(), init.mask())) {
                if (t.size(0) != 1 && t.size(0) != r.n()) {
                    throw new IllegalArgumentException("init image and mask: " + t.size(0) + " for " + r.n()
                            + " draws (give 1 or n)");
                }
            }
        }
        int latentChannels = vae.vae().config().latentChannels();
        if (isInpainting() && (init == null || init.mask() == null)) {
            throw new IllegalArgumentException("this is an inpainting model (its U-Net takes " + unet.config()
                    .inChannels() + " channels: latents, mask and masked-image latents): give an init image and a mask");
        }
        if (!isInpainting() && unet.config().inChannels() != latentChannels) {
            throw new IllegalArgumentException("the U-Net takes " + unet.config().inChannels() + " channels, the VAE's "
                    + "latents have " + latentChannels);
        }
        int f = vaeFactor();
        long w;
        long h;
        String what;
        if (latents != null) {
            Shapes.require(latents, "latents", r.n(), latentChannels, Shapes.ANY, Shapes.ANY);
            h = latents.size(2) * f;
            w = latents.size(3) * f;
            what = "the latents'";
        } else if (init != null) {
            h = init.image().size(2);
            w = init.image().size(3);
            what = "the init image's";
        } else {
            w = r.width() == 0 ? defaultSize() : r.width();
            h = r.height() == 0 ? defaultSize() : r.height();
            what = null;
        }
        if (what != null && ((r.width() != 0 && r.width() != w) || (r.height() != 0 && r.height() != h))) {
            throw new IllegalArgumentException("width x height " + r.width() + "x" + r.height() + " disagrees with "
                    + what + " " + w + "x" + h);
        }
        requireMultiple(w, h);
        return new long[] {h, w};
    }

    private void requireMultiple(long width, long height) {
        int m = sizeMultiple();
        if (width % m != 0 || height % m != 0) {
            throw new IllegalArgumentException("width and height must be multiples of " + m + " for this model (the "
                    + "VAE scales by " + vaeFactor() + " and the U-Net halves " + (unet.config().blockOutChannels()
                    .size() - 1) + " times), got " + width + "x" + height);
        }
    }

    /**
     * The U-Net seen as a class-conditional network whose label picks a row of {@code embeddings} [k, 77, D]; an
     * inpainting U-Net also gets {@code extra} [b, 5, h, w] (mask and masked-image latents) beside its latents, repeated
     * for guidance's batched rows.
     */
    private Network network(Tensor embeddings, boolean bf16, Tensor extra) {
        return new Network() {
            @Override
            public Tensor forward(Tensor x, Tensor t, Tensor labels) {
                Tensor rows = labels != null ? labels : torch.zeros(x.size(0)).to(torch.ScalarType.Long);
                Tensor input = extra == null ? x : torch.cat(new TensorVector(x, extra.repeat(
                        x.size(0) / extra.size(0), 1, 1, 1)), 1);
                try (Autocast cast = Autocast.bf16(bf16)) {
                    return unet.forward(input, t, embeddings.index_select(0, rows)).to(torch.ScalarType.Float);
                }
            }

            @Override
            public Module module() {
                return unet;
            }
        };
    }
}
