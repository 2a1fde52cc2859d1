package org.diffusion4j.serve;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.diffusion4j.diffusers.DiffusersModel;
import org.diffusion4j.diffusers.DiTPipeline;
import org.diffusion4j.diffusers.StableDiffusion;
import org.diffusion4j.run.LoadedModel;
import org.diffusion4j.sampling.SamplableModel;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.tensor.DeviceSpec;

/**
 * A model the server samples, under the name requests use (a checkpoint's file name without ".safetensors", a
 * diffusers folder's name). Requests name models, never paths. Either a model sampled by class ({@code model}) or a
 * text-to-image pipeline sampled by prompt ({@code pipeline}).
 *
 * @param model      a checkpoint or diffusers U-Net; null for a pipeline
 * @param imageShape the output image [C, H, W] (a pipeline's default size)
 * @param pipeline   a Stable Diffusion pipeline folder's model; null otherwise
 */
public record ServedModel(String name, SamplableModel model, long[] imageShape, StableDiffusion pipeline) {
    public ServedModel {
        if ((model == null) == (pipeline == null)) {
            throw new IllegalArgumentException("a served model is either sampled by class or a pipeline");
        }
    }

    /** A model sampled by class. */
    public ServedModel(String name, SamplableModel model, long[] imageShape) {
        this(name, model, imageShape, null);
    }

    /** The prompt-following guidance of a pipeline when a request gives none (diffusers' default). */
    public static final double PIPELINE_GUIDANCE = 7.5;
    /** A pipeline's steps when a request gives none (as {@code generate}). */
    public static final int PIPELINE_STEPS = 25;

    /** Loads an image checkpoint (pixel space or latent), refusing 2-D and 1-D models, which have no picture. */
    public static ServedModel load(Path checkpoint) throws IOException {
        return load(checkpoint, DeviceSpec.CPU);
    }

    /** As above, sampling on {@code device}. */
    public static ServedModel load(Path checkpoint, DeviceSpec device) throws IOException {
        String file = checkpoint.getFileName().toString();
        return of(file.substring(0, file.length() - ".safetensors".length()),
                LoadedModel.load(checkpoint, true, device), checkpoint);
    }

    /**
     * Loads a diffusers folder, served under its name: a {@code StableDiffusionPipeline} (model_index.json), sampled
     * by prompt, a {@code DiTPipeline}, sampled by class, or a UNet2DModel folder.
     */
    public static ServedModel loadDiffusers(Path folder, DeviceSpec device) throws IOException {
        String name = folder.toAbsolutePath().normalize().getFileName().toString();
        if (DiTPipeline.isDiT(folder)) {
            if (!device.isCpu()) {
                throw new IllegalArgumentException(folder + ": DiT pipelines are served on the CPU");
            }
            return of(name, DiTPipeline.load(folder), folder);
        }
        if (Files.isRegularFile(folder.resolve("model_index.json"))) {
            if (!device.isCpu()) {
                throw new IllegalArgumentException(folder + ": Stable Diffusion pipelines are served on the CPU");
            }
            StableDiffusion sd = StableDiffusion.load(folder);
            long side = sd.defaultSize();
            return new ServedModel(name, null, new long[] {sd.imageChannels(), side, side}, sd);
        }
        return of(name, DiffusersModel.load(folder, device), folder);
    }

    /** Whether requests give a prompt (a pipeline) rather than a class. */
    public boolean takesPrompts() {
        return pipeline != null;
    }

    /** Serves {@code model} as {@code name}, refusing models whose samples are not images. */
    public static ServedModel of(String name, SamplableModel model, Path source) {
        long[] shape = model.outputShape();
        if (shape.length != 3 || (shape[0] != 1 && shape[0] != 3)) {
            throw new IllegalArgumentException(source + ": serve shows images (1 or 3 channels); this model "
                    + "makes samples of shape " + Arrays.toString(shape));
        }
        return new ServedModel(name, model, shape);
    }

    public int classes() {
        return pipeline != null ? 0 : model.numClasses();
    }

    /** The sampler a request gets when it names none (null for a pipeline: its folder's scheduler). */
    public SamplerSpec.Kind defaultSampler() {
        return pipeline != null ? null : SamplerSpec.defaultKind(true, model.process());
    }

    /** The step count a request gets when it names none. */
    public int defaultSteps() {
        return pipeline != null ? PIPELINE_STEPS : SamplerSpec.defaultSteps(true, model.process());
    }

    /** As GET /v1/models describes it. */
    ObjectNode describe() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        if (pipeline != null) {
            o.put("name", name).put("prompts", true).put("classes", 0).put("scheduler", pipeline.schedulerClass())
                    .put("default_sampler", "scheduler").put("default_steps", defaultSteps())
                    .put("default_guidance", PIPELINE_GUIDANCE).put("training_timesteps", 1000)
                    .put("inpainting", pipeline.isInpainting());
            var shape = o.putArray("image_shape");
            for (long s : imageShape) {
                shape.add(s);
            }
            var samplers = o.putArray("samplers");
            samplers.add("scheduler");
            for (SamplerSpec.Kind k : SamplerSpec.Kind.values()) {
                samplers.add(k.id());
            }
            return o;
        }
        o.put("name", name).put("prompts", false).put("data", model.outputData()).put("classes", classes())
                .put("prediction", model.prediction())
                .put("flow_matching", model.process() instanceof DiffusionProcess.Flow)
                .put("latent", model.isLatent()).put("training_timesteps", model.process().schedule().size())
                .put("default_sampler", defaultSampler().id()).put("default_steps", defaultSteps());
        var shape = o.putArray("image_shape");
        for (long s : imageShape) {
            shape.add(s);
        }
        var samplers = o.putArray("samplers");
        for (SamplerSpec.Kind k : SamplerSpec.Kind.values()) {
            samplers.add(k.id());
        }
        return o;
    }
}
