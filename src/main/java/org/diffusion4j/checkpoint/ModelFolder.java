package org.diffusion4j.checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A pretrained model's folder as transformers and diffusers save it: {@code config.json} beside safetensors weights. */
public final class ModelFolder {
    private ModelFolder() {}

    /**
     * Checks that {@code folder} holds {@code config.json} and {@code weights}.
     *
     * @param pickle the pickled weights' name, refused by name when only they are there
     * @param what   the model, for the message ("a CLIP text encoder")
     * @throws IOException naming the missing file
     */
    public static void require(Path folder, String weights, String pickle, String what) throws IOException {
        for (Path f : new Path[] {folder.resolve("config.json"), folder.resolve(weights)}) {
            if (Files.isRegularFile(f)) {
                continue;
            }
            if (f.endsWith(weights) && Files.exists(folder.resolve(pickle))) {
                throw new IOException(folder + ": only " + pickle + " (a pickle) is present; pickles are refused "
                        + "because loading one can run code. Convert it to safetensors first");
            }
            throw new IOException(f + ": missing (" + what + " needs config.json and " + weights + ")");
        }
    }
}
