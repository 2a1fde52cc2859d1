package org.diffusion4j.serve;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.diffusion4j.run.LoadedModel;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.schedule.DiffusionProcess;
import org.diffusion4j.tensor.DeviceSpec;

/**
 * A checkpoint the server samples, under the name requests use (its file name without ".safetensors"). Requests
 * name models, never paths.
 *
 * @param imageShape the output image [C, H, W]
 */
public record ServedModel(String name, LoadedModel model, long[] imageShape) {
    /** Loads an image checkpoint (pixel space or latent), refusing 2-D and 1-D models, which have no picture. */
    public static ServedModel load(Path checkpoint) throws IOException {
        return load(checkpoint, DeviceSpec.CPU);
    }

    /** As above, sampling on {@code device}. */
    public static ServedModel load(Path checkpoint, DeviceSpec device) throws IOException {
        LoadedModel m = LoadedModel.load(checkpoint, true, device);
        long[] shape = m.latent() == null ? m.sampleShape() : m.latent().imageShape();
        if (shape.length != 3 || (shape[0] != 1 && shape[0] != 3)) {
            throw new IllegalArgumentException(checkpoint + ": serve shows images (1 or 3 channels); this model "
                    + "makes samples of shape " + Arrays.toString(shape));
        }
        String file = checkpoint.getFileName().toString();
        return new ServedModel(file.substring(0, file.length() - ".safetensors".length()), m, shape);
    }

    public int classes() {
        return model.train().numClasses();
    }

    /** Whether the model was trained by flow matching (its levels are not a DDPM schedule's). */
    public boolean flow() {
        return model.process() instanceof DiffusionProcess.Flow;
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
                .put("prediction", model.train().prediction().toString()).put("flow_matching", flow())
                .put("latent", model.latent() != null).put("training_timesteps", model.schedule().size())
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
