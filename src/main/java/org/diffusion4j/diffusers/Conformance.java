package org.diffusion4j.diffusers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.model.Denoiser;
import org.diffusion4j.schedule.NoiseLevel;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.model.autoencoder.AutoencoderKL;
import org.diffusion4j.model.dit.DiTConfig;
import org.diffusion4j.model.dit.DiTTransformer2DModel;
import org.diffusion4j.model.text.ClipTextModel;
import org.diffusion4j.model.text.ClipTokenizer;
import org.diffusion4j.model.unet.DiffusersConfig;
import org.diffusion4j.model.unet.UNet2DConditionModel;
import org.diffusion4j.model.unet.UNet2DModel;
import org.diffusion4j.model.unet.UNetConfig;
import org.diffusion4j.sampler.NoiseSource;
import org.diffusion4j.sampler.StepListener;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;

/**
 * Replays recorded diffusers cases (their schema: docs/conformance.md) through our code.
 *
 * <p>Scheduler cases run twice: "replay", where every model evaluation returns the recorded model output, and
 * "closed loop", where our own evaluation of the fake model drives our own trajectory. Both use the recorded noise
 * and compare, at every evaluation, the timestep, the model input, the sample (in diffusers' convention) and the
 * predicted x0, and the final sample. The error is |ours - theirs| / max(1, |theirs|); tolerance 2e-5, and 1e-5 for
 * the tables (betas, alphas_cumprod, sigmas, init_noise_sigma). UNet cases load config.json and the weights and
 * compare with output_float32 (max absolute error, tolerance 1e-4).
 */
public final class Conformance {
    /** The shared README's tolerance for float64 scheduler implementations. */
    public static final double SCHEDULER_TOLERANCE = 2e-5;
    /** The shared README's tolerance for tables emulating diffusers' float32. */
    public static final double TABLE_TOLERANCE = 1e-5;
    /** The shared README's tolerance for a float32 UNet against output_float32. */
    public static final double UNET_TOLERANCE = 1e-4;

    /**
     * One case's outcome.
     *
     * @param error  the largest error measured (NaN when the case could not run)
     * @param detail what was measured, or why it failed
     */
    public record Result(String name, boolean passed, double error, double tolerance, String detail) {}

    private Conformance() {}

    /** Every {@code *.json} case in {@code dir} (not {@code index.json}), sorted by name. */
    public static List<Path> cases(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + ": not a folder of conformance cases");
        }
        try (Stream<Path> files = Files.list(dir)) {
            // index.json lists a set's cases and files; it is not a case.
            List<Path> out = files.filter(f -> f.getFileName().toString().endsWith(".json") && Files.isRegularFile(f)
                    && !f.getFileName().toString().equals("index.json")).sorted().toList();
            if (out.isEmpty()) {
                throw new IOException(dir + ": holds no *.json case files");
            }
            return out;
        }
    }

    /** Runs one case file; never throws for a bad case, which fails with its reason. */
    public static Result run(Path file) {
        String name = file.getFileName().toString();
        try {
            JsonNode json = Json.readFile(file);
            String kind = json.path("kind").asText("");
            if (kind.equals("scheduler")) {
                return scheduler(name, json);
            }
            if (kind.equals("clip_tokenizer")) {
                return tokenizer(name, file.getParent(), json);
            }
            if (kind.equals("clip_text_model")) {
                return textEncoder(name, file.getParent(), json);
            }
            if (kind.equals("unet2d_condition")) {
                return conditionalUnet(name, file.getParent(), json);
            }
            if (kind.equals("autoencoder_kl")) {
                return vae(name, file.getParent(), json);
            }
            if (kind.equals("sd_pipeline")) {
                return pipeline(name, file.getParent(), json);
            }
            if (kind.equals("dit_transformer_2d")) {
                return dit(name, file.getParent(), json);
            }
            if (kind.equals("dit_pipeline")) {
                return ditPipeline(name, file.getParent(), json);
            }
            if (json.has("config_file") && json.has("weights_file")) {
                return unet(name, file.getParent(), json);
            }
            return fail(name, "unknown case kind '" + kind + "' (expected a scheduler, UNet, UNet2DConditionModel, AutoencoderKL, CLIP tokenizer, CLIP text model, "
                    + "Stable Diffusion pipeline, DiT or DiT pipeline case)");
        } catch (IOException | RuntimeException e) {
            return fail(name, e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    private static Result fail(String name, String why) {
        return new Result(name, false, Double.NaN, Double.NaN, why);
    }

    // ---- CLIP tokenizer cases.

    /** Every prompt's untruncated ids, padded ids and attention mask must be equal; the error counts prompts that differ. */
    private static Result tokenizer(String name, Path dir, JsonNode json) throws IOException {
        ClipTokenizer tok = ClipTokenizer.load(dir.resolve(text(json, "vocab_file")),
                dir.resolve(text(json, "merges_file")), text(json, "pad_token"));
        int prompts = 0;
        List<String> differ = new ArrayList<>();
        for (JsonNode p : json.path("prompts")) {
            String prompt = text(p, "text");
            ClipTokenizer.Encoding e = tok.encodePadded(prompt);
            boolean same = Arrays.equals(tok.encode(prompt), ints(p.get("ids_untruncated")))
                    && Arrays.equals(e.ids(), ints(p.get("input_ids")))
                    && Arrays.equals(e.attentionMask(), ints(p.get("attention_mask")));
            prompts++;
            if (!same) {
                differ.add(prompt.length() > 40 ? prompt.substring(0, 40) + "..." : prompt);
            }
        }
        if (prompts == 0) {
            return fail(name, "no prompts");
        }
        return new Result(name, differ.isEmpty(), differ.size(), 0, prompts + " prompts, " + json.path("style")
                .asText() + " padding: " + (differ.isEmpty() ? "every id equal" : "ids differ for " + differ));
    }

    private static int[] ints(JsonNode array) {
        if (array == null || !array.isArray()) {
            throw new IllegalArgumentException("expected an array of ids");
        }
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    // ---- CLIP text encoder cases.

    /** The shared README's tolerance for a float32 text encoder, UNet or VAE against the float32 goldens. */
    public static final double SD_TOLERANCE = 1e-4;

    /**
     * Every recorded float32 output: the prompt embeddings, the pooled output, the penultimate layer with and without
     * the final LayerNorm (clip skip), and with the padding mask where recorded.
     */
    private static Result textEncoder(String name, Path dir, JsonNode json) throws IOException {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            ClipTextModel model = ClipTextModel.load(dir.resolve(text(json, "model_dir")));
            JsonNode shape = json.get("input_ids_shape");
            Tensor ids = Tensors.fromLongs(longs(json.get("input_ids")), longs(shape));
            ClipTextModel.Output out = model.forward(ids, null);
            JsonNode want = json.get("outputs_float32");
            double err = Math.max(sdError(out.lastHiddenState(), want.get("last_hidden_state")),
                    sdError(out.pooled(), want.get("pooler_output")));
            err = Math.max(err, sdError(out.hiddenStates().get(out.hiddenStates().size() - 2),
                    want.get("hidden_states_m2")));
            err = Math.max(err, sdError(out.skipped(model, 1), want.get("hidden_states_m2_final_ln")));
            String masked = "";
            if (want.has("last_hidden_state_masked")) {
                Tensor mask = Tensors.fromLongs(longs(json.get("attention_mask")), longs(shape));
                ClipTextModel.Output m = model.forward(ids, mask);
                err = Math.max(err, Math.max(sdError(m.lastHiddenState(), want.get("last_hidden_state_masked")),
                        sdError(m.pooled(), want.get("pooler_output_masked"))));
                masked = ", with the padding mask";
            }
            return new Result(name, err <= SD_TOLERANCE, err, SD_TOLERANCE, model.config().numHiddenLayers()
                    + " layers, " + model.config().hiddenAct() + ": embeddings, pooled, clip skip 1" + masked);
        }
    }

    // ---- Stable Diffusion pipeline cases.

    /**
     * Text-to-image from the recorded latents, or img2img from the recorded image and noise draws: the VAE's output
     * and the final image.
     */
    private static Result pipeline(String name, Path dir, JsonNode json) throws IOException {
        String cls = text(json, "pipeline_class");
        boolean img2img = cls.equals("StableDiffusionImg2ImgPipeline");
        boolean inpaint = cls.equals("StableDiffusionInpaintPipeline");
        if (!cls.equals("StableDiffusionPipeline") && !img2img && !inpaint) {
            return fail(name, cls + " is not implemented");
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            ObjectNode config = (ObjectNode) Json.readFile(dir.resolve(text(json, "scheduler_dir"))
                    .resolve("scheduler_config.json")).deepCopy();
            config.put("_class_name", text(json, "scheduler"));
            StableDiffusion sd = StableDiffusion.load(dir.resolve(text(json, "pipeline_dir"))).withScheduler(config);
            JsonNode call = json.get("call");
            StableDiffusion.Request request = new StableDiffusion.Request(text(call, "prompt"),
                    call.path("negative_prompt").isNull() ? null : call.get("negative_prompt").asText(),
                    call.get("guidance_scale").asDouble(), call.get("num_inference_steps").asInt(), 0, 0, 1, 0, 1,
                    false, 0);
            StableDiffusion.Init init = img2img || inpaint ? new StableDiffusion.Init(
                    recorded(json.get("image_preprocessed")), call.get("strength").asDouble(),
                    inpaint ? recorded(json.get("mask_preprocessed")) : null) : null;
            List<Tensor> draws = new ArrayList<>();
            for (JsonNode d : json.path("noise_draws")) {
                draws.add(recorded(d));
            }
            int[] next = {0};
            NoiseSource replay = shape -> {
                if (next[0] == draws.size()) {
                    throw new IllegalStateException(name + ": the pipeline drew more noise than the "
                            + draws.size() + " recorded draws");
                }
                return draws.get(next[0]++);
            };
            Tensor latents = json.path("latents_input").isNull() ? null : recorded(json.get("latents_input"));
            Tensor decoded = sd.generate(request, init, null, latents, StepListener.NONE, (first, rows) -> replay);
            double err = sdError(decoded, json.get("vae_decode_output"));
            Tensor image = torch.clamp(decoded.div(Tensors.scalar(2)).add(Tensors.scalar(0.5)),
                    new ScalarOptional(Tensors.scalar(0)), new ScalarOptional(Tensors.scalar(1))).permute(0, 2, 3, 1);
            err = Math.max(err, sdError(image, json.get("output_image")));
            String what = img2img ? "img2img at strength " + call.get("strength").asDouble() + ", "
                    : inpaint ? "inpainting (" + sd.unet().config().inChannels() + "-channel U-Net), " : "";
            return new Result(name, err <= SD_TOLERANCE, err, SD_TOLERANCE, what + text(json, "scheduler") + ", "
                    + call.get("num_inference_steps").asInt() + " steps, guidance " + call.get("guidance_scale")
                    + ": decoded image and output image");
        }
    }

    // ---- DiT cases.

    /** The shared README's tolerance for DiT latents, which grow to |x| ~ 600 through DDIM with random weights. */
    public static final double DIT_LATENT_TOLERANCE = 1e-3;

    /** The transformer's float32 output and its position table for the recorded input, timesteps and labels. */
    private static Result dit(String name, Path dir, JsonNode json) throws IOException {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            DiTTransformer2DModel net = DiTTransformer2DModel.load(dir.resolve(text(json, "model_dir")));
            long count = Parameters.count(net);
            if (json.hasNonNull("num_parameters") && count != json.get("num_parameters").asLong()) {
                return fail(name, count + " parameters, diffusers has " + json.get("num_parameters").asLong());
            }
            Tensor out = net.forward(recorded(json.get("sample")), recordedInput(json.get("timesteps")),
                    recordedInput(json.get("class_labels")));
            double err = sdError(out, json.get("output_float32"));
            DiTConfig c = net.config();
            err = Math.max(err, sdError(DiTTransformer2DModel.positions(c.width(), c.grid(), c.grid(), c.grid()),
                    json.get("intermediates").get("pos_embed_buffer")));
            return new Result(name, err <= SD_TOLERANCE, err, SD_TOLERANCE, c.numLayers() + " blocks, " + count
                    + " parameters" + (c.learnedSigma() ? ", learned sigma" : "") + ", t " + json.get("timesteps")
                    .get("dtype").asText() + ": output_float32 and the position table");
        }
    }

    /**
     * A whole DiT pipeline from the recorded starting latents: every step's transformer output for the recorded
     * input (the strict step-wise check), the final latents, the decoded image and the output image.
     */
    private static Result ditPipeline(String name, Path dir, JsonNode json) throws IOException {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            ObjectNode config = (ObjectNode) Json.readFile(dir.resolve(text(json, "scheduler_dir"))
                    .resolve("scheduler_config.json")).deepCopy();
            config.put("_class_name", text(json, "scheduler"));
            DiTPipeline pipe = DiTPipeline.load(dir.resolve(text(json, "pipeline_dir"))).withScheduler(config);
            double steps = 0;
            for (JsonNode step : json.get("steps")) {
                Tensor out = pipe.transformer().forward(recorded(step.get("transformer_input")),
                        recordedInput(step.get("transformer_timestep")),
                        recordedInput(step.get("transformer_class_labels")));
                steps = Math.max(steps, sdError(out, step.get("transformer_output")));
            }
            JsonNode call = json.get("call");
            List<Integer> labels = new ArrayList<>();
            call.get("class_labels").forEach(l -> labels.add(l.asInt()));
            Tensor start = recorded(json.get("latents_initial"));
            DiTPipeline.Request r = new DiTPipeline.Request(labels, call.get("guidance_scale").asDouble(),
                    call.get("num_inference_steps").asInt(), labels.size(), 0, labels.size(), false, 0);
            Tensor z = pipe.denoise(r, null, start, StepListener.NONE, (first, rows) -> shape -> {
                throw new IllegalStateException(name + ": the scheduler drew noise; diffusers drew none");
            });
            double latents = sdError(z.div(Tensors.scalar(pipe.vae().scalingFactor())),
                    json.get("vae_decode_input"));
            Tensor decoded = pipe.vae().vae().decode(z.div(Tensors.scalar(pipe.vae().scalingFactor())));
            double image = sdError(decoded, json.get("vae_decode_output"));
            Tensor rgb = torch.clamp(decoded.div(Tensors.scalar(2)).add(Tensors.scalar(0.5)),
                    new ScalarOptional(Tensors.scalar(0)), new ScalarOptional(Tensors.scalar(1))).permute(0, 2, 3, 1);
            image = Math.max(image, sdError(rgb, json.get("output_image")));
            boolean ok = steps <= SD_TOLERANCE && image <= SD_TOLERANCE && latents <= DIT_LATENT_TOLERANCE;
            return new Result(name, ok, Math.max(steps, image), SD_TOLERANCE, String.format(Locale.ROOT,
                    "%s, %d steps, guidance %s: transformer per step %.1e, final latents %.1e (tolerance %.0e), "
                    + "decoded and output image %.1e", text(json, "scheduler"), r.steps(), call.get("guidance_scale"),
                    steps, latents, DIT_LATENT_TOLERANCE, image));
        }
    }

    /** A recorded integer or float tensor as given to diffusers (int64 stays int64, float as float32). */
    private static Tensor recordedInput(JsonNode t) {
        Tensor v = Tensors.fromDoubles(doubles(t.get("data"), "data"), longs(t.get("shape")));
        return t.path("dtype").asText().equals("int64") ? v.to(torch.ScalarType.Long) : v.to(torch.ScalarType.Float);
    }

    // ---- AutoencoderKL cases.

    /** The posterior's mean, log-variance and std, a draw with the recorded noise, a decode and a round trip. */
    private static Result vae(String name, Path dir, JsonNode json) throws IOException {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            DiffusersVae loaded = DiffusersVae.load(dir.resolve(text(json, "model_dir")));
            AutoencoderKL vae = loaded.vae();
            Tensor image = recorded(json.get("image"));
            Tensor z = recorded(json.get("latent_z"));
            Tensor noise = recorded(json.get("posterior_noise"));
            JsonNode want = json.get("outputs_float32");
            AutoencoderKL.Posterior p = vae.encode(image);
            double err = Math.max(sdError(p.mean(), want.get("mean")), sdError(p.logvar(), want.get("logvar")));
            err = Math.max(err, sdError(p.std(), want.get("std")));
            err = Math.max(err, sdError(p.mean().add(p.std().mul(noise)), want.get("posterior_sample")));
            err = Math.max(err, sdError(vae.decode(z), want.get("decode")));
            err = Math.max(err, sdError(vae.decode(p.mean()), want.get("roundtrip")));
            return new Result(name, err <= SD_TOLERANCE, err, SD_TOLERANCE, vae.config().blockOutChannels()
                    + " channels" + (vae.config().useQuantConv() ? "" : ", no quant convs")
                    + ": mean, logvar, std, posterior sample, decode, round trip");
        }
    }

    /** A recorded {"shape", "data"} float32 tensor. */
    private static Tensor recorded(JsonNode t) {
        return Tensors.fromDoubles(doubles(t.get("data"), "data"), longs(t.get("shape"))).to(torch.ScalarType.Float);
    }

    // ---- UNet2DConditionModel cases.

    /** The recorded float32 output for the recorded latents, timesteps and text embeddings. */
    private static Result conditionalUnet(String name, Path dir, JsonNode json) throws IOException {
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            UNet2DConditionModel net = UNet2DConditionModel.load(dir.resolve(text(json, "model_dir")));
            Tensor x = Tensors.fromDoubles(doubles(json.get("input_sample"), "input_sample"),
                    longs(json.get("input_shape"))).to(torch.ScalarType.Float);
            Tensor context = Tensors.fromDoubles(doubles(json.get("encoder_hidden_states"), "encoder_hidden_states"),
                    longs(json.get("encoder_hidden_states_shape"))).to(torch.ScalarType.Float);
            double[] ts = doubles(json.get("timesteps"), "timesteps");
            Tensor t = Tensors.fromDoubles(ts, longs(json.get("timesteps_shape")));
            t = text(json, "timesteps_dtype").equals("int64") ? t.to(torch.ScalarType.Long) : t.to(torch.ScalarType.Float);
            Tensor out = net.forward(x, t, context);
            double err = rel(Tensors.toDoubles(out), doubles(json.get("output_float32"), "output_float32"),
                    "output_float32");
            return new Result(name, err <= SD_TOLERANCE, err, SD_TOLERANCE, net.config().blockOutChannels()
                    + " channels, heads " + net.config().heads() + (net.config().linearProj() ? ", linear projection"
                    : "") + (net.config().upcast() ? ", upcast" : "") + (net.config().onlyCross().contains(true)
                    ? ", only cross-attention" : "") + ": output_float32");
        }
    }

    /** {@link #rel} against a recorded {"shape", "data"} tensor. */
    private static double sdError(Tensor ours, JsonNode golden) {
        return rel(Tensors.toDoubles(ours.contiguous()), doubles(golden.get("data"), "data"), "recorded output");
    }

    // ---- Scheduler cases.

    private static Result scheduler(String name, JsonNode json) {
        String cls = text(json, "scheduler");
        JsonNode config = json.has("full_config") ? json.get("full_config") : json.get("config");
        var step = (ObjectNode) Json.MAPPER.createObjectNode();
        if (json.hasNonNull("step_kwargs")) {
            step.setAll((ObjectNode) json.get("step_kwargs"));
        }
        if (json.hasNonNull("eta")) {
            step.set("eta", json.get("eta"));
        }
        DiffusersScheduler.requireSupported(cls);
        if (!json.path("num_inference_steps").canConvertToInt()) {
            throw new IllegalArgumentException("field 'num_inference_steps' must be an integer");
        }
        DiffusersScheduler s = DiffusersScheduler.of(cls, config, json.get("num_inference_steps").asInt(),
                json.get("set_timesteps_kwargs"), step);
        Recorded rec = new Recorded(json);
        double tables = tableError(s, json);
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            double replay = trajectoryError(s, rec, true);
            double loop = trajectoryError(s, rec, false);
            double worst = Math.max(replay, loop);
            boolean ok = worst <= SCHEDULER_TOLERANCE && tables <= TABLE_TOLERANCE;
            return new Result(name, ok, worst, SCHEDULER_TOLERANCE, String.format(Locale.ROOT,
                    "%s, %d evaluations: replay %.1e, closed loop %.1e, tables %.1e (tolerance %.0e)", cls,
                    rec.steps.size(), replay, loop, tables, TABLE_TOLERANCE));
        }
    }

    private static double tableError(DiffusersScheduler s, JsonNode json) {
        double worst = 0;
        if (json.hasNonNull("init_noise_sigma")) {
            worst = Math.max(worst, rel(new double[] {s.initNoiseSigma()}, new double[] {json.get("init_noise_sigma")
                    .asDouble()}, "init_noise_sigma"));
        }
        double[] recordedSigmas = doublesOrNull(json.get("sigmas"));
        double[] ours = s.diffusersSigmas();
        if (recordedSigmas != null && recordedSigmas.length > 0) {
            if (ours == null) {
                throw new IllegalArgumentException("the case records sigmas but " + s.className() + " here has none");
            }
            worst = Math.max(worst, rel(ours, recordedSigmas, "sigmas"));
        }
        if (s.schedule() != null) {
            double[] betas = doublesOrNull(json.get("betas"));
            double[] ac = doublesOrNull(json.get("alphas_cumprod"));
            if (betas != null) {
                worst = Math.max(worst, rel(s.schedule().betas(), betas, "betas"));
            }
            if (ac != null) {
                worst = Math.max(worst, rel(s.schedule().alphasCumprod(), ac, "alphas_cumprod"));
            }
        }
        return worst;
    }

    /** The recorded per-step tensors of a scheduler case, as float64 arrays. */
    private static final class Recorded {
        final long[] shape;
        final double[] initial;
        final List<JsonNode> steps = new ArrayList<>();
        final double[] timesteps;

        Recorded(JsonNode json) {
            shape = longs(json.get("shape"));
            initial = doubles(json.get("initial_sample"), "initial_sample");
            json.get("steps").forEach(steps::add);
            timesteps = doubles(json.get("timesteps"), "timesteps");
            if (timesteps.length != steps.size()) {
                throw new IllegalArgumentException(timesteps.length + " timesteps but " + steps.size() + " steps");
            }
        }

        double[] sampleBefore(int k) {
            return k == 0 ? initial : doubles(steps.get(k - 1).get("prev_sample"), "prev_sample");
        }
    }

    /**
     * Runs our sampler over the whole case and returns the largest error at any evaluation.
     *
     * @param replay feed the recorded model outputs (else evaluate the fake model ourselves)
     */
    private static double trajectoryError(DiffusersScheduler s, Recorded rec, boolean replay) {
        Parameterization prediction = s.prediction();
        List<NoiseLevel> levelsSeen = new ArrayList<>();
        double[] worst = {0};
        Denoiser model = (x, level) -> {
            int k = levelsSeen.size();
            if (k >= rec.steps.size()) {
                throw new IllegalArgumentException("our sampler evaluates the model more often than diffusers ("
                        + rec.steps.size() + " step calls)");
            }
            levelsSeen.add(level);
            JsonNode step = rec.steps.get(k);
            worst[0] = Math.max(worst[0], rel(new double[] {level.timestep()}, new double[] {rec.timesteps[k]},
                    "timestep of evaluation " + k));
            double[] input = Tensors.toDoubles(x);
            worst[0] = Math.max(worst[0], rel(input, doubles(step.get("scaled_model_input"), "scaled_model_input"),
                    "model input " + k));
            double scale = s.stateScale(level);
            double[] state = new double[input.length];
            for (int i = 0; i < state.length; i++) {
                state[i] = input[i] / scale;
            }
            worst[0] = Math.max(worst[0], rel(state, rec.sampleBefore(k), "sample before evaluation " + k));
            Tensor out = replay ? Tensors.fromDoubles(doubles(step.get("model_output"), "model_output"), rec.shape)
                    : torch.tanh(x.mul(Tensors.scalar(0.5))).mul(Tensors.scalar(1 + level.timestep() / 1000));
            return prediction.toPrediction(out, x, level.alpha(), level.sigma());
        };
        Deque<Tensor> noise = new ArrayDeque<>();
        for (JsonNode step : rec.steps) {
            if (step.hasNonNull("noise")) {
                noise.add(Tensors.fromDoubles(doubles(step.get("noise"), "noise"), rec.shape));
            }
        }
        NoiseSource source = shape -> {
            if (noise.isEmpty()) {
                throw new IllegalArgumentException("our sampler draws more noise than diffusers did");
            }
            return noise.poll();
        };
        int[] evaluations = {0};
        Tensor xT = Tensors.fromDoubles(rec.initial, rec.shape).mul(Tensors.scalar(s.stateScale(s.levels().get(0))));
        Tensor out = s.sample(model, xT, source, (k, n, xt, x0) -> {
            JsonNode recorded = rec.steps.get(k).get("pred_original_sample");
            if (recorded != null && !recorded.isNull()) {
                worst[0] = Math.max(worst[0], rel(Tensors.toDoubles(x0), doubles(recorded, "pred_original_sample"),
                        "predicted x0 at evaluation " + k));
            }
            evaluations[0]++;
        });
        if (levelsSeen.size() != rec.steps.size()) {
            throw new IllegalArgumentException("our sampler made " + levelsSeen.size() + " model evaluations, diffusers "
                    + rec.steps.size() + " step calls");
        }
        double scale = s.stateScale(s.levels().get(s.levels().size() - 1));
        double[] fin = Tensors.toDoubles(out.div(Tensors.scalar(scale)));
        worst[0] = Math.max(worst[0], rel(fin, doubles(rec.steps.get(rec.steps.size() - 1).get("prev_sample"),
                "prev_sample"), "final sample"));
        return worst[0];
    }

    // ---- UNet cases.

    private static Result unet(String name, Path dir, JsonNode json) throws IOException {
        Path configFile = dir.resolve(text(json, "config_file"));
        Path weightsFile = dir.resolve(text(json, "weights_file"));
        UNetConfig cfg = DiffusersConfig.read(Json.readFile(configFile), configFile.toString());
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            UNet2DModel net = new UNet2DModel(cfg, Rng.of(0));
            Map<String, Tensor> weights = Safetensors.read(weightsFile).tensors();
            Parameters.load(net, weights, weightsFile.toString());
            net.eval();
            long count = Parameters.count(net);
            if (json.hasNonNull("num_parameters") && count != json.get("num_parameters").asLong()) {
                return fail(name, count + " parameters, diffusers has " + json.get("num_parameters").asLong());
            }
            long[] shape = longs(json.get("input_shape"));
            Tensor x = Tensors.fromDoubles(doubles(json.get("input_sample"), "input_sample"), shape)
                    .to(torch.ScalarType.Float);
            double[] ts = doubles(json.get("timesteps"), "timesteps");
            Tensor t = Tensors.fromDoubles(ts, ts.length).to(torch.ScalarType.Float);
            Tensor labels = json.path("class_labels").isNull() || json.path("class_labels").isMissingNode() ? null
                    : Tensors.fromDoubles(doubles(json.get("class_labels"), "class_labels"), ts.length)
                            .to(torch.ScalarType.Long);
            double[] actual = Tensors.toDoubles(net.forward(x, t, labels));
            double[] expected = doubles(json.get("output_float32"), "output_float32");
            if (actual.length != expected.length) {
                return fail(name, "output has " + actual.length + " values, diffusers " + expected.length);
            }
            double worst = 0;
            for (int i = 0; i < actual.length; i++) {
                worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
            }
            return new Result(name, worst <= UNET_TOLERANCE, worst, UNET_TOLERANCE, String.format(
                    Locale.ROOT, "UNet2DModel, %d parameters: max abs error vs output_float32 %.1e", count,
                    worst));
        }
    }

    // ---- JSON helpers.

    private static String text(JsonNode json, String key) {
        JsonNode v = json.get(key);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("field '" + key + "' must be a string");
        }
        return v.asText();
    }

    private static double[] doublesOrNull(JsonNode v) {
        return v == null || v.isNull() ? null : doubles(v, "array");
    }

    private static double[] doubles(JsonNode v, String what) {
        if (v == null || !v.isArray()) {
            throw new IllegalArgumentException("field '" + what + "' must be an array of numbers");
        }
        double[] out = new double[v.size()];
        for (int i = 0; i < out.length; i++) {
            if (!v.get(i).isNumber()) {
                throw new IllegalArgumentException("field '" + what + "' holds a non-number at " + i + ": " + v.get(i));
            }
            out[i] = v.get(i).asDouble();
        }
        return out;
    }

    private static long[] longs(JsonNode v) {
        double[] d = doubles(v, "shape");
        long[] out = new long[d.length];
        for (int i = 0; i < d.length; i++) {
            out[i] = (long) d[i];
        }
        return out;
    }

    /** max |a - b| / max(1, |b|); lengths must match. */
    static double rel(double[] actual, double[] expected, String what) {
        if (actual.length != expected.length) {
            throw new IllegalArgumentException(what + ": " + actual.length + " values, diffusers " + expected.length);
        }
        double m = 0;
        for (int i = 0; i < actual.length; i++) {
            double e = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
            m = Math.max(m, Double.isNaN(e) ? Double.POSITIVE_INFINITY : e);
        }
        return m;
    }
}
