package org.diffusion4j.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    @TempDir
    Path dir;

    @Test
    void imageDatasetsHaveTheirShapesAndClasses() {
        assertThat(Datasets.sampleShape("cifar10")).containsExactly(3, 32, 32);
        assertThat(Datasets.sampleShape("mnist")).containsExactly(1, 28, 28);
        assertThat(Datasets.sampleShape("fashion-mnist")).containsExactly(1, 28, 28);
        assertThat(Datasets.numClasses("cifar10")).isEqualTo(10);
        assertThat(Datasets.isToy("cifar10")).isFalse();
        Datasets.check("cifar10");
    }

    @Test
    void unknownIdsListTheKnownOnes() {
        assertThatThrownBy(() -> Datasets.check("cifar100")).hasMessageContaining("unknown dataset 'cifar100'")
                .hasMessageContaining("mnist, fashion-mnist, cifar10, folder:PATH");
    }

    @Test
    void aDataDirWithoutTheFilesIsNamed() {
        assertThatThrownBy(() -> Datasets.images("cifar10", dir, true))
                .hasMessageContaining(dir + ": does not hold the cifar10 files [data_batch_1.bin");
    }
}
