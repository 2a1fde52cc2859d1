package org.diffusion4j.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.diffusers.DiTPipeline;
import org.diffusion4j.diffusers.DiffusersModel;
import org.diffusion4j.model.Parameters;
import org.diffusion4j.run.LoadedModel;
import org.diffusion4j.sampling.SamplableModel;
import org.diffusion4j.tensor.DeviceSpec;

/**
 * Where {@code sample} gets its model: a checkpoint (with its sidecar) or a diffusers folder (a UNet2DModel or a
 * DiTPipeline); exactly one is set.
 *
 * @param useEma prefer a checkpoint's EMA weights
 */
record ModelSource(Path checkpoint, Path diffusers, boolean useEma, DeviceSpec device) {
    ModelSource {
        if ((checkpoint == null) == (diffusers == null)) {
            throw new IllegalArgumentException("give a checkpoint or a diffusers folder, not both or neither");
        }
    }

    static ModelSource checkpoint(Path checkpoint, DeviceSpec device) {
        return new ModelSource(checkpoint, null, true, device);
    }

    /** The files loading reads, which no output may replace. */
    Path[] inputs() throws IOException {
        if (diffusers != null) {
            return new Path[] {diffusers.resolve("diffusion_pytorch_model.safetensors"),
                    diffusers.resolve("unet").resolve("diffusion_pytorch_model.safetensors"),
                    diffusers.resolve("transformer").resolve("diffusion_pytorch_model.safetensors")};
        }
        Checkpoint.requireSafetensorsName(checkpoint);
        return new Path[] {checkpoint, Checkpoint.sidecarOf(checkpoint)};
    }

    /** Loads the model; a diffusers model is described on {@code out}. */
    SamplableModel load(PrintStream out) throws IOException {
        if (diffusers == null) {
            return LoadedModel.load(checkpoint, useEma, device);
        }
        if (DiTPipeline.isDiT(diffusers)) {
            if (!device.isCpu()) {
                throw new IllegalArgumentException("--diffusers " + diffusers + ": DiT pipelines sample on the CPU");
            }
            DiTPipeline dit = DiTPipeline.load(diffusers);
            out.println("diffusers DiT pipeline " + diffusers + ": " + Parameters.count(dit.transformer())
                    + " parameters, " + dit.classes() + " classes, " + dit.prediction() + " prediction");
            return dit;
        }
        DiffusersModel m = DiffusersModel.load(diffusers, device);
        out.println("diffusers model " + diffusers + ": " + Parameters.count(m.network()) + " parameters, "
                + m.prediction() + " prediction, " + m.schedule().size() + " training steps");
        return m;
    }
}
