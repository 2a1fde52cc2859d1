package org.diffusion4j.serve;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.data.ImageFile;
import org.diffusion4j.diffusers.StableDiffusion;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.sampling.SampleJob;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.sampler.DdpmSampler;
import org.diffusion4j.sampler.Steps;
import org.diffusion4j.schedule.TimestepSpacing;
import org.diffusion4j.tensor.Tensors;

/**
 * One validated generation request. Built from a JSON body (POST /v1/generate) or query parameters (the stream);
 * every problem is a {@link BadRequest} naming the field, which the server answers with 400.
 *
 * @param label  the class for a class-conditional model; null samples unconditionally (its "no class" label)
 * @param seed   sample i of the batch depends only on (seed, label, i)
 * @param format "png" (one grid) or "json" (base64 PNGs)
 * @param id     the job's name, for DELETE /v1/jobs/{id}
 * @param start  null to start from noise; else an uploaded image (img2img) and its mask (inpainting)
 */
public record GenerateRequest(ServedModel model, SamplerSpec spec, long seed, Integer label, Guidance guidance,
                              int batch, int scale, String format, String id, SampleJob.Start start,
                              Prompted prompted) {
    /**
     * What a pipeline runs: the prompt and settings, the image to start from (or null), and the sampler (null: the
     * folder's scheduler).
     */
    public record Prompted(StableDiffusion.Request request, StableDiffusion.Init init) {}

    /** A request for a model sampled by class. */
    public GenerateRequest(ServedModel model, SamplerSpec spec, long seed, Integer label, Guidance guidance, int batch,
                           int scale, String format, String id, SampleJob.Start start) {
        this(model, spec, seed, label, guidance, batch, scale, format, id, start, null);
    }

    /** A client error: answered with 400 and this message. */
    public static final class BadRequest extends RuntimeException {
        public BadRequest(String message) {
            super(message);
        }
    }

    static final Set<String> FIELDS = Set.of("model", "sampler", "steps", "seed", "class", "guidance", "batch",
            "scale", "format", "id", "karras", "eta", "init_image", "strength", "mask", "prompt", "negative_prompt");
    /** Longest prompt accepted, in characters (CLIP reads 75 tokens of it). */
    static final int MAX_PROMPT_CHARS = 2000;
    /** Base64 characters an uploaded image or mask may have (a data: URL prefix is allowed). */
    static final int MAX_IMAGE_CHARS = 1 << 20;
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    /**
     * @param fields      field name to its text (absent fields use defaults)
     * @param models      the served models, by name
     * @param defaultSeed used when the request names no seed (the response reports it)
     * @param defaultId   used when the request names no id
     */
    static GenerateRequest parse(Map<String, String> fields, Map<String, ServedModel> models, ServeConfig limits,
                                 long defaultSeed, String defaultId) {
        for (String k : fields.keySet()) {
            if (!FIELDS.contains(k)) {
                throw new BadRequest("unknown field '" + shown(k) + "'; expected some of " + FIELDS.stream().sorted().toList());
            }
        }
        String name = fields.get("model");
        ServedModel model;
        if (name == null) {
            if (models.size() != 1) {
                throw new BadRequest("model: required when several are served; one of " + models.keySet());
            }
            model = models.values().iterator().next();
        } else {
            model = models.get(name);
            if (model == null) {
                throw new BadRequest("model: unknown model '" + shown(name) + "'; served: " + models.keySet());
            }
        }
        if (model.takesPrompts()) {
            return prompted(fields, model, limits, defaultSeed, defaultId);
        }
        for (String k : List.of("prompt", "negative_prompt")) {
            if (fields.containsKey(k)) {
                throw new BadRequest(k + ": model '" + model.name() + "' is not a text-to-image pipeline");
            }
        }
        if (fields.containsKey("sampler") && fields.get("sampler").length() > 64) {
            throw new BadRequest("sampler: unknown sampler '" + shown(fields.get("sampler")) + "'");
        }
        SamplerSpec.Kind kind;
        try {
            kind = fields.containsKey("sampler") ? SamplerSpec.Kind.parse(fields.get("sampler"))
                    : model.defaultSampler();
        } catch (IllegalArgumentException e) {
            throw new BadRequest("sampler: " + e.getMessage());
        }
        int maxSteps = Math.min(limits.maxSteps(), model.model().process().schedule().size());
        int steps = integer(fields, "steps", Math.min(model.defaultSteps(), maxSteps), 1, maxSteps);
        double eta = real(fields, "eta", 0, 0, 1);
        boolean karras = bool(fields, "karras");
        SamplerSpec spec;
        try {
            spec = new SamplerSpec(kind, steps, eta, TimestepSpacing.TRAILING, DdpmSampler.Variance.FIXED_SMALL,
                    !model.model().isLatent(), karras, 2.0, 0.0);
            spec.requireSupports(model.model().process());
            spec.levelsFor(model.model().process());
        } catch (IllegalArgumentException e) {
            throw new BadRequest("sampler: " + e.getMessage());
        }
        long seed = fields.containsKey("seed") ? longValue(fields, "seed") : defaultSeed;
        Integer label = null;
        if (fields.containsKey("class")) {
            if (model.classes() == 0) {
                throw new BadRequest("class: model '" + model.name() + "' is unconditional");
            }
            label = integer(fields, "class", 0, 0, model.classes() - 1);
        }
        double g = real(fields, "guidance", 1, 0, 50);
        if (g != 1 && label == null) {
            throw new BadRequest("guidance: needs a class (guidance steers towards one)");
        }
        Output o = output(fields, limits, defaultId);
        SampleJob.Start start = start(fields, model, spec);
        return new GenerateRequest(model, spec, seed, label, Guidance.of(g), o.batch(), o.scale(), o.format(), o.id(),
                start);
    }

    /** A pipeline's request: a prompt (may be empty), negative prompt, guidance (7.5), steps, sampler or its scheduler. */
    private static GenerateRequest prompted(Map<String, String> fields, ServedModel model, ServeConfig limits,
                                            long defaultSeed, String defaultId) {
        if (fields.containsKey("class")) {
            throw new BadRequest("class: model '" + model.name() + "' takes a prompt, not a class");
        }
        String prompt = fields.getOrDefault("prompt", "");
        String negative = fields.get("negative_prompt");
        for (String k : List.of("prompt", "negative_prompt")) {
            if (fields.containsKey(k) && fields.get(k).length() > MAX_PROMPT_CHARS) {
                throw new BadRequest(k + ": " + fields.get(k).length() + " characters, more than the "
                        + MAX_PROMPT_CHARS + " allowed");
            }
        }
        int steps = integer(fields, "steps", Math.min(model.defaultSteps(), limits.maxSteps()), 1,
                limits.maxSteps());
        SamplerSpec spec = null;
        String sampler = fields.getOrDefault("sampler", "scheduler");
        if (!sampler.equals("scheduler")) {
            try {
                spec = new SamplerSpec(SamplerSpec.Kind.parse(shown(sampler)), steps, real(fields, "eta", 0, 0, 1),
                        TimestepSpacing.TRAILING, DdpmSampler.Variance.FIXED_SMALL, false, bool(fields, "karras"),
                        2.0, 0.0);
            } catch (IllegalArgumentException e) {
                throw new BadRequest("sampler: " + e.getMessage() + " (or 'scheduler': the folder's)");
            }
        }
        long seed = fields.containsKey("seed") ? longValue(fields, "seed") : defaultSeed;
        double g = real(fields, "guidance", ServedModel.PIPELINE_GUIDANCE, 0, 50);
        Output o = output(fields, limits, defaultId);
        Uploaded up = uploaded(fields, model);
        StableDiffusion.Init init = null;
        if (up != null) {
            try {
                Steps.startIndex(steps, up.strength());
                init = new StableDiffusion.Init(up.image(), up.strength(), up.mask());
            } catch (IllegalArgumentException e) {
                throw new BadRequest("strength: " + e.getMessage());
            }
        }
        StableDiffusion.Request request;
        try {
            request = new StableDiffusion.Request(prompt, negative, g, steps, 0, 0, o.batch(), seed, o.batch(), false,
                    0);
            model.pipeline().imageSize(request, init, null);
        } catch (IllegalArgumentException e) {
            throw new BadRequest(e.getMessage());
        }
        return new GenerateRequest(model, spec, seed, null, Guidance.of(g), o.batch(), o.scale(), o.format(), o.id(),
                null, new Prompted(request, init));
    }

    /** How many images, how they are returned, and the job's name: the same for every kind of model. */
    private record Output(int batch, int scale, String format, String id) {}

    private static Output output(Map<String, String> fields, ServeConfig limits, String defaultId) {
        int batch = integer(fields, "batch", 1, 1, limits.maxBatch());
        int scale = integer(fields, "scale", 1, 1, limits.maxScale());
        String format = fields.getOrDefault("format", "png");
        if (!List.of("png", "json").contains(format)) {
            throw new BadRequest("format: expected png or json, got '" + shown(format) + "'");
        }
        String id = fields.getOrDefault("id", defaultId);
        if (!ID.matcher(id).matches()) {
            throw new BadRequest("id: 1 to 64 letters, digits, '_' or '-', got '" + shown(id) + "'");
        }
        return new Output(batch, scale, format, id);
    }

    /** init_image (base64 PNG or JPEG, or a data: URL), strength and mask, scaled to the model's image size. */
    private static SampleJob.Start start(Map<String, String> fields, ServedModel model, SamplerSpec spec) {
        Uploaded up = uploaded(fields, model);
        if (up == null) {
            return null;
        }
        try {
            spec.startIndex(model.model().process(), up.strength());
        } catch (IllegalArgumentException e) {
            throw new BadRequest("strength: " + e.getMessage());
        }
        return new SampleJob.Start(up.image(), up.strength(), up.mask());
    }

    /**
     * An uploaded start: the image in [-1, 1] and the mask at the model's size, and the strength (0.8, or 1 with a
     * mask, as diffusers).
     */
    private record Uploaded(Tensor image, Tensor mask, double strength) {}

    /** The request's init_image, mask and strength; null without init_image (which strength and mask need). */
    private static Uploaded uploaded(Map<String, String> fields, ServedModel model) {
        if (!fields.containsKey("init_image")) {
            for (String k : List.of("strength", "mask")) {
                if (fields.containsKey(k)) {
                    throw new BadRequest(k + ": needs init_image");
                }
            }
            return null;
        }
        long[] shape = model.imageShape();
        Tensor image = image(fields, "init_image", (int) shape[0], shape);
        Tensor mask = fields.containsKey("mask") ? image(fields, "mask", 1, shape) : null;
        double strength = real(fields, "strength", mask != null ? 1.0 : 0.8, 0, 1);
        if (strength == 0) {
            throw new BadRequest("strength: must be in (0, 1], got 0");
        }
        return new Uploaded(image.mul(Tensors.scalar(2)).sub(Tensors.scalar(1)), mask, strength);
    }

    private static Tensor image(Map<String, String> fields, String key, int channels, long[] shape) {
        String text = fields.get(key);
        if (text.length() > MAX_IMAGE_CHARS) {
            throw new BadRequest(key + ": " + text.length() + " characters, more than the " + MAX_IMAGE_CHARS
                    + " allowed");
        }
        String b64 = text.startsWith("data:") && text.contains(",") ? text.substring(text.indexOf(',') + 1) : text;
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(b64.trim());
        } catch (IllegalArgumentException e) {
            throw new BadRequest(key + ": expected a base64 PNG or JPEG (" + e.getMessage() + ")");
        }
        try {
            return ImageFile.decode(key, bytes, channels, (int) shape[2], (int) shape[1]);
        } catch (IOException e) {
            throw new BadRequest(shown(e.getMessage() == null ? key + ": not a readable image" : e.getMessage(), 300));
        }
    }

    /** Fields a JSON body must give as numbers, as booleans, and as strings. */
    private static final Set<String> NUMBERS = Set.of("steps", "seed", "class", "guidance", "batch", "scale", "eta",
            "strength");
    private static final Set<String> BOOLEANS = Set.of("karras");

    /** The fields of a JSON object body; each value must have its field's JSON type ("steps": "5" is refused). */
    static Map<String, String> fields(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new BadRequest("body: expected a JSON object");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (var it = body.fields(); it.hasNext(); ) {
            var e = it.next();
            String k = e.getKey();
            JsonNode v = e.getValue();
            if (v.isNull()) {
                continue;
            }
            boolean ok = NUMBERS.contains(k) ? v.isNumber() : BOOLEANS.contains(k) ? v.isBoolean()
                    : FIELDS.contains(k) ? v.isTextual() : v.isValueNode();
            if (!ok) {
                throw new BadRequest(shown(k) + ": expected a JSON " + (NUMBERS.contains(k) ? "number"
                        : BOOLEANS.contains(k) ? "boolean" : FIELDS.contains(k) ? "string" : "scalar") + ", got "
                        + shown(v.toString()));
            }
            out.put(k, v.asText());
        }
        return out;
    }

    /** A client's value as echoed in an error: long ones are cut, so a response never grows with the request. */
    static String shown(String value) {
        return shown(value, 64);
    }

    private static String shown(String value, int max) {
        return value.length() <= max ? value : value.substring(0, max) + "... (" + value.length() + " characters)";
    }

    /**
     * The sampling job: the batch at once; no class on a class-conditional model samples its unconditional half.
     */
    public SampleJob job() {
        if (prompted != null) {
            throw new IllegalStateException("a pipeline request runs its Prompted, not a SampleJob");
        }
        return new SampleJob(spec, label == null ? SampleJob.Conditioning.NONE : new SampleJob.Conditioning.OneClass(label),
                guidance, batch, seed, batch, start);
    }

    /** A short description for logs and responses, e.g. "mnist ddim-50 seed 7 class 3 guidance 2.0". */
    public String summary() {
        if (prompted != null) {
            StableDiffusion.Request r = prompted.request();
            StableDiffusion.Init init = prompted.init();
            return model.name() + " \"" + shown(r.prompt(), 60) + "\" " + samplerLabel() + " seed " + seed
                    + " guidance " + r.guidance() + (init == null ? "" : (init.mask() != null ? " inpainting"
                    : " img2img") + " strength " + init.strength());
        }
        return model.name() + " " + spec.label(model.model().process().schedule()) + " seed " + seed
                + (label == null ? "" : " class " + label + " guidance " + guidance.scale())
                + (start == null ? "" : (start.mask() != null ? " inpainting" : " img2img") + " strength "
                        + start.strength());
    }

    /** The sampler and steps, e.g. "ddim-50", or a pipeline's "DPMSolverMultistepScheduler-25". */
    public String samplerLabel() {
        if (prompted != null) {
            int steps = prompted.request().steps();
            return (spec == null ? model.pipeline().schedulerClass() : spec.kind().id() + (spec.karras() ? "-karras"
                    : "")) + "-" + steps;
        }
        return spec.label(model.model().process().schedule());
    }

    /** The field's value, which must be in [min, max], or dflt when it is absent. */
    private static int integer(Map<String, String> f, String key, int dflt, int min, int max) {
        if (!f.containsKey(key)) {
            return dflt;
        }
        long v = longValue(f, key);
        if (v < min || v > max) {
            throw new BadRequest(key + ": must be in [" + min + ", " + max + "], got " + v);
        }
        return (int) v;
    }

    private static long longValue(Map<String, String> f, String key) {
        try {
            return Long.parseLong(f.get(key).trim());
        } catch (NumberFormatException e) {
            throw new BadRequest(key + ": expected an integer, got '" + f.get(key) + "'");
        }
    }

    private static double real(Map<String, String> f, String key, double dflt, double min, double max) {
        if (!f.containsKey(key)) {
            return dflt;
        }
        double v;
        try {
            v = Double.parseDouble(f.get(key).trim());
        } catch (NumberFormatException e) {
            throw new BadRequest(key + ": expected a number, got '" + f.get(key) + "'");
        }
        if (!(v >= min && v <= max)) {
            throw new BadRequest(key + ": must be in [" + min + ", " + max + "], got " + f.get(key));
        }
        return v;
    }

    private static boolean bool(Map<String, String> f, String key) {
        String v = f.getOrDefault(key, "false");
        if (!v.equals("true") && !v.equals("false")) {
            throw new BadRequest(key + ": expected true or false, got '" + v + "'");
        }
        return v.equals("true");
    }
}
