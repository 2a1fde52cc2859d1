package org.diffusion4j.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A downloadable labelled image set kept as files in one folder: MNIST, Fashion-MNIST ({@link Mnist}) and CIFAR-10
 * ({@link Cifar10}). {@link DatasetFetcher} finds, fetches and verifies them through this contract.
 */
public interface ImageDataset {
    /** The id used on the command line and in checkpoints, e.g. "mnist", "cifar10". */
    String id();

    /** True when {@code dir} holds every file, without reading them. */
    boolean presentIn(Path dir);

    /**
     * Checks every file in {@code dir} against its checksum.
     *
     * @throws IOException naming the first file that is missing, malformed or differs
     */
    void verify(Path dir) throws IOException;

    /**
     * One split from {@code dir}, checksums verified.
     *
     * @param train the training split, else the test split
     */
    LabeledImages load(Path dir, boolean train) throws IOException;

    /** Parses "mnist", "fashion-mnist" or "cifar10" (case, '_' and "cifar-10" forgiven). */
    static ImageDataset parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        if (n.equals(Cifar10.CIFAR10.id()) || n.equals("cifar-10")) {
            return Cifar10.CIFAR10;
        }
        for (Mnist m : Mnist.values()) {
            if (m.id().equals(n)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown image dataset '" + name + "'; expected mnist, fashion-mnist or "
                + "cifar10");
    }
}
