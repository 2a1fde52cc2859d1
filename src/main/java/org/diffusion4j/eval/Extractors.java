package org.diffusion4j.eval;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import org.diffusion4j.checkpoint.Checkpoint;

/**
 * The feature extractors shipped in the jar, one per dataset, each pinned by version and SHA-256 so that scores
 * from different machines and releases are comparable. Retraining one (README: "Evaluation") makes a new version with
 * a new hash; scores from different versions are not comparable.
 */
public final class Extractors {
    private Extractors() {}

    /** A shipped extractor: its dataset, version and the SHA-256 of its safetensors file. */
    public record Shipped(String data, String version, String sha256) {
        /** e.g. "mnist-v1". */
        public String id() {
            return data + "-" + version;
        }

        String resource() {
            return "extractor-" + id() + ".safetensors";
        }
    }

    private static final Map<String, Shipped> SHIPPED = Map.of(
            "mnist", new Shipped("mnist", "v1",
                    "630bb0c2b837fec5958020808358f8171ef9d6af9d70dcc4d369651d5c014fe9"),
            "fashion-mnist", new Shipped("fashion-mnist", "v1",
                    "bb47d6cf3a1a4612f55f324e58760f86e46308493ff8dffd5176a3c6c8ad94b7"));

    /** The shipped extractor for a dataset id ("mnist", "fashion-mnist"), or null when there is none. */
    public static Shipped shippedFor(String data) {
        return SHIPPED.get(data);
    }

    /** Loads a shipped extractor, checking its bytes against the pinned hash. */
    public static FeatureExtractor load(Shipped s) throws IOException {
        Path tmp = Files.createTempFile("diffusion4j-" + s.id(), ".safetensors");
        try {
            try (InputStream in = Extractors.class.getResourceAsStream(s.resource())) {
                if (in == null) {
                    throw new IOException("extractor " + s.id() + " is missing from the jar (" + s.resource() + ")");
                }
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            String got = Checkpoint.sha256(tmp);
            if (!got.equals(s.sha256())) {
                throw new IOException("extractor " + s.id() + ": SHA-256 " + got + " differs from the pinned "
                        + s.sha256() + "; scores would not be comparable");
            }
            return FeatureExtractor.load(tmp);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
