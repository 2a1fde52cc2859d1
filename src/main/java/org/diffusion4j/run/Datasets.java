package org.diffusion4j.run;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Path;
import java.util.Locale;
import org.diffusion4j.data.Cifar10;
import org.diffusion4j.data.DataSource;
import org.diffusion4j.data.DatasetFetcher;
import org.diffusion4j.data.ImageDataset;
import org.diffusion4j.data.ImageFolder;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.data.RowDataset;
import org.diffusion4j.data.ToyDataset;
import org.diffusion4j.data.Waveforms;

/**
 * Resolves the dataset id recorded in configs and checkpoints: a toy set, 1-D signals, mnist / fashion-mnist / cifar10, an image
 * folder, or an autoencoder's latents.
 */
public final class Datasets {
    private Datasets() {}

    /** True for the generated 2-D sets. */
    public static boolean isToy(String id) {
        try {
            ToyDataset.parse(id);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Prefix of row-file ids: {@code rows:PATH} (a .csv or .npy of fixed-length 1-D signals). */
    public static final String ROWS = "rows:";

    /** True for 1-D signal data: the generated waveforms or a file of rows. */
    public static boolean isSignal(String id) {
        return id.equals(Waveforms.ID) || id.startsWith(ROWS);
    }

    /** The canonical id of a rows file (absolute path). */
    public static String rowsId(Path file) {
        return ROWS + file.toAbsolutePath().normalize();
    }

    /** Prefix of latent data ids: {@code latents:PATH}, a file written by the encode command. */
    public static final String LATENTS = "latents:";

    /** True for an autoencoder's latents (latent diffusion). */
    public static boolean isLatent(String id) {
        return id.startsWith(LATENTS);
    }

    /** The canonical id of a latents file (absolute path). */
    public static String latentsId(Path file) {
        return LATENTS + file.toAbsolutePath().normalize();
    }

    private static Latents.Info latents(String id) {
        try {
            return Latents.info(Path.of(id.substring(LATENTS.length())));
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** Prefix of image-folder ids: {@code folder:SIZE:COLOUR:PATH}, e.g. {@code folder:32:rgb:/data/faces}. */
    public static final String FOLDER = "folder:";

    /** The canonical id of an image folder, recording how it is read. */
    public static String folderId(Path dir, int size, ImageFolder.Color color) {
        if (size < 1) {
            throw new IllegalArgumentException("image size must be >= 1, got " + size);
        }
        return FOLDER + size + ":" + color.name().toLowerCase(Locale.ROOT) + ":" + dir.toAbsolutePath().normalize();
    }

    private record Folder(int size, ImageFolder.Color color, Path dir) {
        static Folder parse(String id) {
            String[] parts = id.substring(FOLDER.length()).split(":", 3);
            if (parts.length != 3) {
                throw new IllegalArgumentException("image folder id '" + id + "' must be folder:SIZE:COLOUR:PATH");
            }
            try {
                return new Folder(Integer.parseInt(parts[0]), ImageFolder.Color.parse(parts[1]), Path.of(parts[2]));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("image folder id '" + id + "': size '" + parts[0] + "' is not a number");
            }
        }
    }

    /** The image set behind {@code id}: for latents, the set their autoencoder encoded (e.g. "mnist"); else id. */
    public static String imageSource(String id) {
        if (!isLatent(id)) {
            return id;
        }
        String encoded = latents(id).data();
        return encoded.contains("/") ? encoded.substring(0, encoded.indexOf('/')) : encoded;
    }

    /** How many classes the dataset's labels take (0 for unlabelled data: swiss-roll, checkerboard, folders). */
    public static int numClasses(String id) {
        if (isToy(id)) {
            return ToyDataset.parse(id).numClasses();
        }
        if (id.equals(Waveforms.ID)) {
            return 3;
        }
        if (isLatent(id)) {
            return latents(id).numClasses();
        }
        return id.startsWith(FOLDER) || id.startsWith(ROWS) ? 0 : 10;
    }

    /** The shape of one sample of {@code id}, without loading it. */
    public static long[] sampleShape(String id) {
        if (isToy(id)) {
            return ToyDataset.parse(id).sampleShape();
        }
        if (id.equals(Waveforms.ID)) {
            return Waveforms.INSTANCE.sampleShape();
        }
        if (id.startsWith(ROWS)) {
            try {
                return new long[] {RowDataset.dim(Path.of(id.substring(ROWS.length())))};
            } catch (IOException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
        }
        if (id.startsWith(FOLDER)) {
            Folder f = Folder.parse(id);
            return new long[] {f.color().channels(), f.size(), f.size()};
        }
        if (isLatent(id)) {
            return latents(id).shape();
        }
        return ImageDataset.parse(id) == Cifar10.CIFAR10 ? new long[] {3, 32, 32} : new long[] {1, 28, 28};
    }

    /** Checks that {@code id} names a known dataset. */
    public static void check(String id) {
        if (isSignal(id) || isLatent(id)) {
            sampleShape(id);
        } else if (id.startsWith(FOLDER)) {
            Folder.parse(id);
        } else if (!isToy(id)) {
            try {
                ImageDataset.parse(id);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown dataset '" + id + "'; expected one of swiss-roll, two-moons, "
                        + "8gaussians, checkerboard, waveforms, mnist, fashion-mnist, cifar10, folder:PATH, rows:FILE.csv|npy, "
                        + "latents:FILE");
            }
        }
    }

    /**
     * The training source for {@code id}.
     *
     * @param dataDir the dataset's folder (null: -Ddiffusion4j.data / $DIFFUSION4J_DATA, then the cache, then a fetch)
     * @param seed    the run's seed (image epochs are shuffled from it)
     */
    public static DataSource resolve(String id, Path dataDir, long seed) throws IOException {
        if (isToy(id)) {
            return ToyDataset.parse(id);
        }
        if (id.equals(Waveforms.ID)) {
            return Waveforms.INSTANCE;
        }
        if (id.startsWith(ROWS)) {
            return RowDataset.read(Path.of(id.substring(ROWS.length())));
        }
        if (id.startsWith(FOLDER)) {
            Folder f = Folder.parse(id);
            return ImageFolder.load(f.dir(), f.size(), f.color()).source(seed, false);
        }
        if (isLatent(id)) {
            return Latents.read(Path.of(id.substring(LATENTS.length()))).source(seed);
        }
        return images(id, dataDir, true).source(seed, false);
    }

    /** An image dataset's split (an image folder has one split: all of it). */
    public static LabeledImages images(String id, Path dataDir, boolean train) throws IOException {
        if (id.startsWith(FOLDER)) {
            Folder f = Folder.parse(id);
            return ImageFolder.load(f.dir(), f.size(), f.color());
        }
        ImageDataset m = ImageDataset.parse(id);
        try {
            return m.load(DatasetFetcher.locateOrFetch(m, dataDir, System.err), train);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while fetching " + m.id());
        }
    }
}
