package org.diffusion4j.cli;

import java.nio.file.Path;
import org.diffusion4j.data.ImageFolder;
import org.diffusion4j.run.Datasets;
import picocli.CommandLine.Option;

/** Where image data comes from and how a folder is read; shared by train and train-autoencoder. */
final class ImageDataOptions {
    @Option(names = "--data-dir", description = "Folder with the image dataset's IDX files (default: "
            + "$DIFFUSION4J_DATA/NAME or -Ddiffusion4j.data, then the cache; fetched if missing).")
    Path dataDir;

    @Option(names = "--image-size", defaultValue = "32",
            description = "For --data folder:PATH: resize and centre-crop to this size (default: ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--color", defaultValue = "rgb",
            description = "For --data folder:PATH: grey or rgb (default: ${DEFAULT-VALUE}).")
    String color;

    /**
     * The canonical dataset id of a --data value: folders get their size and colour, file paths become absolute.
     * Checks that the id names a known dataset.
     */
    String canonical(String data) {
        String id = data;
        if (id.startsWith(Datasets.FOLDER) && id.split(":", -1).length < 4) {
            String path = id.substring(Datasets.FOLDER.length());
            id = TrainOptions.named("--data/--image-size/--color", () -> Datasets.folderId(Path.of(path), imageSize,
                    ImageFolder.Color.parse(color)));
        }
        if (id.startsWith(Datasets.ROWS)) {
            id = Datasets.rowsId(Path.of(id.substring(Datasets.ROWS.length())));
        }
        if (Datasets.isLatent(id)) {
            id = Datasets.latentsId(Path.of(id.substring(Datasets.LATENTS.length())));
        }
        String checked = id;
        return TrainOptions.named("--data", () -> {
            Datasets.check(checked);
            return checked;
        });
    }
}
