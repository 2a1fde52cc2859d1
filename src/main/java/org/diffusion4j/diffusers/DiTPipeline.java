package org.diffusion4j.diffusers;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.guidance.ClassifierFreeGuidance;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.model.ConditionalDenoiser;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.model.FiniteDenoiser;
import org.diffusion4j.model.Network;
import org.diffusion4j.model.NetworkConfig;
import org.diffusion4j.model.NetworkDenoiser;
import org.diffusion4j.model.dit.DiTTransformer2DModel;
import org.diffusion4j.sampler.NoiseSource;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.sampling.SamplableModel;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.tensor.Autocast;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/**
 * A diffusers {@code DiTPipeline} folder (transformer/, vae/, scheduler/), run as diffusers v0.31 runs it: class
 * labels, classifier-free guidance above a scale of 1 with the "no class" row (index num_embeds_ada_norm, which
 * diffusers hard-codes to 1000, the ImageNet models' value), the prediction half of a learned-sigma output for the
 * scheduler, and the VAE's decode of latents / scaling_factor.
 *
 * <p>Guidance convention: diffusers guides every latent channel; the original DiT code guides the first three of four.
 * {@link Request#guidedChannels} 0 follows diffusers, 3 the original. With {@code --sampler ddpm --variance
 * learned_range} the learned variance is used, which diffusers' pipeline drops.
 *
 * @param schedulerClass  the scheduler's diffusers class name
 * @param schedulerConfig its config
 */
public record DiTPipeline(DiTTransformer2DModel transformer, DiffusersVae vae, String schedulerClass,
                          JsonNode schedulerConfig) implements SamplableModel {
    /**
     * What to draw. Image i depends only on (seed, i).
     *
     * @param labels         one class for every image, or one per image (n of them)
     * @param guidance       classifier-free guidance scale; above 1 a guided pass, else the classes alone
     * @param steps          denoising steps
     * @param n              images
     * @param seed           seeds the starting latents and any sampler noise
     * @param batchSize      images per transformer pass (twice that many rows with guidance)
     * @param bf16           run the transformer under bfloat16 autocast (the VAE in float32)
     * @param guidedChannels 0 = guide every channel (diffusers), k = the first k only (the original DiT: 3)
     */
    public record Request(List<Integer> labels, double guidance, int steps, int n, long seed, int batchSize,
                          boolean bf16, int guidedChannels) {
        public Request {
            if (labels == null || labels.isEmpty()) {
                throw new IllegalArgumentException("class labels must be given");
            }
            labels = List.copyOf(labels);
            if (n < 1 || batchSize < 1 || steps < 1) {
                throw new IllegalArgumentException("n, batch size and steps must be >= 1, got " + n + ", " + batchSize
                        + ", " + steps);
            }
            if (labels.size() != 1 && labels.size() != n) {
                throw new IllegalArgumentException(labels.size() + " class labels for " + n + " images (give 1 or n)");
            }
            if (!(guidance >= 0) || Double.isInfinite(guidance)) {
                throw new IllegalArgumentException("guidance must be finite and >= 0, got " + guidance);
            }
            if (guidedChannels < 0) {
                throw new IllegalArgumentException("guided channels must be >= 0 (0 = all), got " + guidedChannels);
            }
        }

        /** The class of image i. */
        int label(int i) {
            return labels.size() == 1 ? labels.get(0) : labels.get(i);
        }
    }

    /** Loads {@code model_index.json} (a DiTPipeline), {@code transformer/}, {@code vae/} and the scheduler config. */
    public static DiTPipeline load(Path dir) throws IOException {
        Path index = dir.resolve("model_index.json");
        String cls = Json.readFile(index).path("_class_name").asText("");
        if (!cls.equals("DiTPipeline")) {
            throw new IOException(index + ": _class_name '" + cls + "' is not DiTPipeline");
        }
        Path sched = dir.resolve("scheduler").resolve("scheduler_config.json");
        JsonNode sc = Json.readFile(sched);
        DiTPipeline p = new DiTPipeline(DiTTransformer2DModel.load(dir.resolve("transformer")),
                DiffusersVae.load(dir.resolve("vae")), sc.path("_class_name").asText(""), sc);
        if (p.transformer.config().inChannels() != p.vae.vae().config().latentChannels()) {
            throw new IOException(dir + ": the transformer takes " + p.transformer.config().inChannels()
                    + " channels, the VAE's latents have " + p.vae.vae().config().latentChannels());
        }
        try {
            p.scheduler(10);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(sched + ": " + e.getMessage(), e);
        }
        return p;
    }

    /** Whether {@code dir} holds a DiTPipeline (its model_index.json says so). */
    public static boolean isDiT(Path dir) {
        try {
            return Json.readFile(dir.resolve("model_index.json")).path("_class_name").asText("").equals("DiTPipeline");
        } catch (IOException e) {
            return false;
        }
    }

    /** This pipeline with another scheduler config, as {@code pipe.scheduler = X.from_config(...)}. */
    public DiTPipeline withScheduler(JsonNode config) {
        DiTPipeline p = new DiTPipeline(transformer, vae, config.path("_class_name").asText(""), config);
        p.scheduler(10);
        return p;
    }

    /** The classes the transformer knows (its label rows minus "no class"). */
    public int classes() {
        return transformer.config().numEmbedsAdaNorm();
    }

    /** The image side in pixels: the transformer's sample size times the VAE's factor. */
    public int imageSize() {
        return transformer.config().sampleSize() * vae.vae().config().factor();
    }

    /** Channels of the images the VAE gives. */
    public int imageChannels() {
        return vae.vae().config().inChannels();
    }

    /** Draws {@code r.n()} images with the folder's scheduler (sampler null) or one of ours. */
    public Tensor generate(Request r, SamplerSpec sampler, Tensor latents, StepListener progress) {
        return generate(r, sampler, latents, progress, (first, rows) -> NoiseSource.perSample(r.seed(), first, rows));
    }

    /** Decoded {@link #denoise}: float32 [n, image channels, H, W], unclamped (the data range is [-1, 1]). */
    Tensor generate(Request r, SamplerSpec sampler, Tensor latents, StepListener progress,
                    StableDiffusion.NoiseStreams noises) {
        return toOutput(denoise(r, sampler, latents, progress, noises), r.batchSize());
    }

    /**
     * The final latents, before the VAE.
     *
     * @param sampler  one of diffusion4j's samplers on the scheduler's training schedule, or null for the folder's
     *                 scheduler as diffusers runs it
     * @param latents  the starting noise, standard normal [n, C, s, s] (s = sample_size), or null to draw it from
     *                 (seed, i)
     * @param progress sees every transformer evaluation of every batch
     * @return float32 [n, C, s, s]
     */
    Tensor denoise(Request r, SamplerSpec sampler, Tensor latents, StepListener progress,
                   StableDiffusion.NoiseStreams noises) {
        int c = transformer.config().inChannels();
        int s = transformer.config().sampleSize();
        if (latents != null) {
            Shapes.require(latents, "latents", r.n(), c, s, s);
        }
        for (int i = 0; i < r.n(); i++) {
            if (r.label(i) < 0 || r.label(i) >= classes()) {
                throw new IllegalArgumentException("class " + r.label(i) + " is not a class of this model (0 to "
                        + (classes() - 1) + ")");
            }
        }
        DiffusersScheduler sched = scheduler(r.steps());
        DiffusionProcess process = sampler == null ? null : sched.ddpmProcess();
        Tensor out = torch.empty(new long[] {r.n(), c, s, s}, new TensorOptions(torch.ScalarType.Float),
                new MemoryFormatOptional());
        try (NoGradGuard guard = new NoGradGuard()) {
            for (int first = 0; first < r.n(); first += r.batchSize()) {
                int b = Math.min(r.batchSize(), r.n() - first);
                try (PointerScope scope = new PointerScope()) {
                    NoiseSource noise = noises.of(first, b);
                    Tensor eps = latents != null ? latents.narrow(0, first, b) : noise.next(new long[] {b, c, s, s});
                    long[] rows = new long[b];
                    for (int i = 0; i < b; i++) {
                        rows[i] = r.label(first + i);
                    }
                    NetworkDenoiser d = new NetworkDenoiser(network(r.bf16()), sched.prediction());
                    Denoiser guided = new FiniteDenoiser(new ClassifierFreeGuidance(d, Tensors.fromLongs(rows, b),
                            classes(), Guidance.of(r.guidance() > 1 ? r.guidance() : 1), r.guidedChannels()));
                    Tensor z;
                    if (sampler != null) {
                        z = sampler.run(guided, process, eps, 0, noise, progress);
                    } else {
                        Tensor x = eps.mul(Tensors.scalar(sched.initNoiseSigma() * sched.stateScale(sched.levels()
                                .get(0))));
                        Tensor last = sched.sample(guided, x, 0, noise, progress);
                        z = last.div(Tensors.scalar(sched.stateScale(sched.levels().get(sched.levels().size() - 1))));
                    }
                    out.narrow(0, first, b).copy_(z);
                }
            }
        }
        return out;
    }

    // ---- As a SamplableModel: the transformer on the scheduler's training schedule, sampled by diffusion4j's
    // samplers (sample --diffusers, eval, serve), its latents decoded by the VAE.

    /** The transformer read through the scheduler's prediction type; labels index its classes, the last "no class". */
    @Override
    public ConditionalDenoiser denoiser() {
        return new NetworkDenoiser(transformer, scheduler(10).prediction());
    }

    /** DDPM on the scheduler's training schedule. */
    @Override
    public DiffusionProcess process() {
        return scheduler(10).ddpmProcess();
    }

    /** The latents [C, s, s]. */
    @Override
    public long[] sampleShape() {
        int s = transformer.config().sampleSize();
        return new long[] {transformer.config().inChannels(), s, s};
    }

    @Override
    public long[] outputShape() {
        return new long[] {imageChannels(), imageSize(), imageSize()};
    }

    @Override
    public int numClasses() {
        return classes();
    }

    /** Names the kind of folder (a DiT pipeline's images belong to no dataset of this project). */
    @Override
    public String outputData() {
        return "diffusers: a DiTPipeline";
    }

    @Override
    public String prediction() {
        return scheduler(10).prediction().id();
    }

    @Override
    public NetworkConfig networkConfig() {
        return transformer.config();
    }

    @Override
    public boolean isLatent() {
        return true;
    }

    /** Latents as images: decoded from latents / scaling_factor, {@code batchSize} at a time. */
    @Override
    public Tensor toOutput(Tensor samples, int batchSize) {
        long n = samples.size(0);
        int f = vae.vae().config().factor();
        Tensor out = torch.empty(new long[] {n, imageChannels(), samples.size(2) * f, samples.size(3) * f},
                new TensorOptions(torch.ScalarType.Float), new MemoryFormatOptional());
        try (NoGradGuard guard = new NoGradGuard()) {
            for (long first = 0; first < n; first += batchSize) {
                long b = Math.min(batchSize, n - first);
                try (PointerScope scope = new PointerScope()) {
                    out.narrow(0, first, b).copy_(vae.vae().decode(samples.narrow(0, first, b)
                            .div(Tensors.scalar(vae.scalingFactor()))));
                }
            }
        }
        return out;
    }

    /** Images as latents: the posterior mean times the scaling factor. */
    @Override
    public Tensor toSampleSpace(Tensor data) {
        try (NoGradGuard guard = new NoGradGuard()) {
            return vae.vae().encode(data).mean().mul(Tensors.scalar(vae.scalingFactor()));
        }
    }

    /** Every f-th pixel of the mask, f the VAE's factor. */
    @Override
    public Tensor maskToSampleSpace(Tensor mask) {
        int f = vae.vae().config().factor();
        return mask.slice(2, new LongOptional(0), new LongOptional(mask.size(2)), f)
                .slice(3, new LongOptional(0), new LongOptional(mask.size(3)), f).contiguous();
    }

    private DiffusersScheduler scheduler(int steps) {
        return DiffusersScheduler.of(schedulerClass, schedulerConfig, steps, null, null);
    }

    /** The transformer in float32 out, under autocast when asked. */
    private Network network(boolean bf16) {
        return new Network() {
            @Override
            public Tensor forward(Tensor x, Tensor t, Tensor labels) {
                try (Autocast cast = Autocast.bf16(bf16)) {
                    return transformer.forward(x, t, labels).to(torch.ScalarType.Float);
                }
            }

            @Override
            public Module module() {
                return transformer;
            }
        };
    }
}
