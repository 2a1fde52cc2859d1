package org.diffusion4j.serve;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.diffusion4j.diffusers.DiffusersModel;
import org.diffusion4j.run.LoadedModel;
import org.diffusion4j.sampling.SamplableModel;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.tensor.DeviceSpec;

/**
 * A model the server samples, under the name requests use (a checkpoint's file name without ".safetensors", a
 * diffusers folder's name). Requests name models, never paths.
 *
 * @param imageShape the output image [C, H, W]
 */
public record ServedModel(String name, SamplableModel model, long[] imageShape) {
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

    /** Loads a diffusers UNet2DModel folder (or a pipeline folder with unet/), served under the folder's name. */
    public static ServedModel loadDiffusers(Path folder, DeviceSpec device) throws IOException {
        return of(folder.toAbsolutePath().normalize().getFileName().toString(), DiffusersModel.load(folder, device),
                folder);
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
        return model.numClasses();
    }

    /** The sampler a request gets when it names none. */
    public SamplerSpec.Kind defaultSampler() {
        return SamplerSpec.defaultKind(true, model.process());
    }

    /** The step count a request gets when it names none. */
    public int defaultSteps() {
        return SamplerSpec.defaultSteps(true, model.process());
    }

    /** As GET /v1/models describes it. */
    ObjectNode describe() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("name", name).put("data", model.outputData()).put("classes", classes())
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
