package org.diffusion4j.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where img2img and inpainting start: the options {@code generate} and {@code sample} share. */
final class StartOptions {
    @Option(names = "--init-image", description = "img2img (SDEdit): start from this PNG or JPEG instead of pure "
            + "noise, noised to the step --strength selects on the sampler's steps (scaled to the model's image size; "
            + "generate keeps its size unless --width/--height are given).")
    Path image;

    @Option(names = "--strength", description = "With --init-image: the share of the steps run, in (0, 1]; lower keeps "
            + "more of the image (default: 0.8, or 1 with --mask, as diffusers).")
    Double strength;

    @Option(names = "--mask", description = "With --init-image: inpainting; a PNG or JPEG scaled like the image, white "
            + "(above half grey) where the model paints, black where the image is kept.")
    Path mask;

    /** The files, checked against each other; null when none of the options was given. */
    Runs.InitFiles files() {
        return image == null && strength == null && mask == null ? null : new Runs.InitFiles(image, strength, mask);
    }
}
