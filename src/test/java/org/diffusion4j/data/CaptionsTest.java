package org.diffusion4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CaptionsTest {
    @TempDir
    Path dir;

    @Test
    void templatesNameEveryClassOfTheBuiltInSets() {
        Captions digits = Captions.templates("mnist");
        assertThat(digits.numClasses()).isEqualTo(10);
        assertThat(digits.perClass().get(7)).contains("the digit seven", "a handwritten 7");
        Captions fashion = Captions.templates("fashion-mnist");
        assertThat(fashion.perClass().get(7)).contains("a photo of a sneaker");
        assertThat(fashion.perClass().get(9)).contains("a black and white picture of an ankle boot");
        assertThat(digits.all()).hasSize(10 * digits.perClass().get(0).size());
        assertThatThrownBy(() -> Captions.templates("cifar10")).hasMessageContaining("--captions templates")
                .hasMessageContaining("cifar10");
    }

    @Test
    void aFileGivesEachClassItsLines() throws Exception {
        Path f = dir.resolve("c.txt");
        Files.writeString(f, "# comment\n\n0 a cat\n1\ta dog\n0   a small cat  \n");
        Captions c = Captions.read(f, 2);
        assertThat(c.perClass()).containsExactly(List.of("a cat", "a small cat"), List.of("a dog"));
    }

    @Test
    void badLinesAndMissingClassesNameTheFileAndLine() throws Exception {
        Path f = dir.resolve("c.txt");
        Files.writeString(f, "0 a cat\ncat 1\n");
        assertThatThrownBy(() -> Captions.read(f, 2)).hasMessageContaining(f + ":2:")
                .hasMessageContaining("class index");
        Files.writeString(f, "0 a cat\n5 a dog\n");
        assertThatThrownBy(() -> Captions.read(f, 2)).hasMessageContaining(f + ":2:").hasMessageContaining("[0, 1]");
        Files.writeString(f, "0 a cat\n1\n");
        assertThatThrownBy(() -> Captions.read(f, 2)).hasMessageContaining(f + ":2:").hasMessageContaining("non-empty");
        Files.writeString(f, "0 a cat\n");
        assertThatThrownBy(() -> Captions.read(f, 2)).hasMessageContaining("class 1 has no caption");
        assertThatThrownBy(() -> Captions.read(f, 0)).hasMessageContaining("labelled data");
        assertThatThrownBy(() -> new Captions(List.of(List.of("  ")))).hasMessageContaining("non-blank");
    }
}
