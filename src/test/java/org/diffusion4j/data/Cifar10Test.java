package org.diffusion4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Cifar10Test {
    @TempDir
    Path dir;

    @BeforeAll
    static void init() {
        Torch.init();
    }

    /** Records per batch file in the small test archives. */
    static final int RECORDS = 3;

    /**
     * The seven files of a small CIFAR-10 folder: record r of file f has label (f + r) % 10, and pixel p of channel c
     * the value (f * 31 + r * 7 + c * 50 + p) % 256.
     */
    static Map<String, byte[]> files() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        List<String> batches = new ArrayList<>(Cifar10.TRAIN_FILES);
        batches.add(Cifar10.TEST_FILE);
        for (int f = 0; f < batches.size(); f++) {
            byte[] b = new byte[RECORDS * Cifar10.RECORD];
            for (int r = 0; r < RECORDS; r++) {
                b[r * Cifar10.RECORD] = (byte) ((f + r) % 10);
                for (int c = 0; c < 3; c++) {
                    for (int p = 0; p < 1024; p++) {
                        b[r * Cifar10.RECORD + 1 + c * 1024 + p] = (byte) ((f * 31 + r * 7 + c * 50 + p) % 256);
                    }
                }
            }
            out.put(batches.get(f), b);
        }
        out.put(Cifar10.META, String.join("\n", Cifar10.CLASSES).getBytes(StandardCharsets.US_ASCII));
        return out;
    }

    static Cifar10 small(String archiveSha) {
        return new Cifar10(new Cifar10.Archive("cifar-10-binary.tar.gz", archiveSha), RECORDS);
    }

    private Path write(Path to) throws IOException {
        Files.createDirectories(to);
        for (var e : files().entrySet()) {
            Files.write(to.resolve(e.getKey()), e.getValue());
        }
        return to;
    }

    @Test
    void loadsRecordsAsChannelPlanesWithTheirLabels() throws IOException {
        Path d = write(dir.resolve("c"));
        Cifar10 c = small("0".repeat(64));
        LabeledImages train = c.load(d, true);
        LabeledImages test = c.load(d, false);
        assertThat(train.count()).isEqualTo(5 * RECORDS);
        assertThat(test.count()).isEqualTo(RECORDS);
        assertThat(new int[] {train.channels(), train.height(), train.width(), train.numClasses()})
                .containsExactly(3, 32, 32, 10);
        assertThat(train.id()).isEqualTo("cifar10/train");
        // Training image 4 is record 1 of data_batch_2: label 2; green pixel (row 1, col 2) = 31 + 7 + 50 + 34.
        assertThat(train.labels()[4]).isEqualTo((byte) 2);
        float[] img = Tensors.toFloats(train.slice(4, 1));
        assertThat(img).hasSize(3 * 32 * 32);
        assertThat(img[1024 + 32 + 2]).isEqualTo((31 + 7 + 50 + 34) / 127.5f - 1f);
        assertThat(test.labels()[2]).isEqualTo((byte) ((5 + 2) % 10));
    }

    @Test
    void theFolderInsideTheArchiveIsFoundToo() throws IOException {
        write(dir.resolve("x").resolve("cifar-10-batches-bin"));
        Cifar10 c = small("0".repeat(64));
        assertThat(c.presentIn(dir.resolve("x"))).isTrue();
        assertThat(c.load(dir.resolve("x"), false).count()).isEqualTo(RECORDS);
    }

    @Test
    void aManifestCatchesAFileDamagedAfterExtraction() throws IOException {
        Path d = write(dir.resolve("m"));
        Cifar10.writeManifest(d);
        Cifar10 c = small("0".repeat(64));
        c.verify(d);
        assertThat(Files.readAllLines(d.resolve(Cifar10.MANIFEST))).hasSize(7)
                .allMatch(l -> l.matches("[0-9a-f]{64}  [a-z_0-9.]+"));
        Path batch = d.resolve("data_batch_3.bin");
        byte[] b = Files.readAllBytes(batch);
        b[500] ^= 1;
        Files.write(batch, b);
        assertThatThrownBy(() -> c.load(d, true)).isInstanceOf(IOException.class)
                .hasMessageContaining("data_batch_3.bin: SHA-256 is")
                .hasMessageContaining("damaged since");
    }

    @Test
    void wrongSizesLabelsAndManifestsAreRefusedNamingTheFile() throws IOException {
        Cifar10 c = small("0".repeat(64));
        Path d = write(dir.resolve("s"));
        Files.write(d.resolve("test_batch.bin"), new byte[Cifar10.RECORD * RECORDS - 1]);
        assertThatThrownBy(() -> c.verify(d)).hasMessageContaining("test_batch.bin: 9218 bytes, expected 9219");

        Path l = write(dir.resolve("l"));
        byte[] b = Files.readAllBytes(l.resolve("test_batch.bin"));
        b[Cifar10.RECORD] = 10;
        Files.write(l.resolve("test_batch.bin"), b);
        assertThatThrownBy(() -> c.load(l, false)).hasMessageContaining("test_batch.bin: record 1 has label 10");

        Path m = write(dir.resolve("bad-manifest"));
        Files.writeString(m.resolve(Cifar10.MANIFEST), "not a checksum line\n");
        assertThatThrownBy(() -> c.verify(m)).hasMessageContaining("SHA256SUMS:1: expected '<sha256>  <file>'");

        Files.delete(m.resolve("data_batch_5.bin"));
        assertThat(c.presentIn(m)).isFalse();
        assertThatThrownBy(() -> Cifar10.CIFAR10.load(dir.resolve("nothing"), true))
                .hasMessageContaining("data_batch_1.bin is missing; run `./diffusion4j fetch cifar10`");
    }

    @Test
    void theRealArchiveIsTheOnePublished() {
        assertThat(Cifar10.CIFAR10.archive().sha256())
                .isEqualTo("c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd");
        assertThat(Cifar10.MIRRORS.get(0)).hasToString("https://www.cs.toronto.edu/~kriz/");
        assertThat(ImageDataset.parse("CIFAR-10")).isSameAs(Cifar10.CIFAR10);
        assertThatThrownBy(() -> new Cifar10.Archive("a/b.tgz", "0".repeat(64))).hasMessageContaining("plain file name");
        assertThatThrownBy(() -> new Cifar10.Archive("b.tgz", "ABC")).hasMessageContaining("64 lower-case hex");
    }
}
