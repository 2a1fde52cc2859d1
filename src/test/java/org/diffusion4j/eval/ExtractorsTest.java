package org.diffusion4j.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.diffusion4j.run.Datasets;
import org.diffusion4j.tensor.Torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ExtractorsTest {
    @BeforeAll
    static void init() {
        Torch.init();
    }

    @Test
    void theShippedMnistNetworkMatchesItsPinAndItsRecordedAccuracy() throws Exception {
        Extractors.Shipped s = Extractors.shippedFor("mnist");
        assertThat(s.id()).isEqualTo("mnist-v1");
        FeatureExtractor f = Extractors.load(s);
        assertThat(f.metadata()).containsEntry("data", "mnist").containsEntry("command",
                "train-extractor --data mnist --steps 3000 --seed 0");
        double recorded = Double.parseDouble(f.metadata().get("test_accuracy"));
        assertThat(recorded).isGreaterThan(0.99);
        assertThat(f.accuracy(Datasets.images("mnist", null, false))).isEqualTo(recorded, org.assertj.core.api
                .Assertions.within(1e-4));
    }

    @Test
    void theShippedFashionNetworkLoads() throws Exception {
        FeatureExtractor f = Extractors.load(Extractors.shippedFor("fashion-mnist"));
        assertThat(f.imageShape()).containsExactly(1, 28, 28);
        assertThat(f.classes()).isEqualTo(10);
        assertThat(Double.parseDouble(f.metadata().get("test_accuracy"))).isGreaterThan(0.9);
    }

    @Test
    void aChangedFileOrAMissingOneIsRefused() {
        Extractors.Shipped real = Extractors.shippedFor("mnist");
        Extractors.Shipped tampered = new Extractors.Shipped("mnist", "v1", "0".repeat(64));
        assertThatThrownBy(() -> Extractors.load(tampered)).hasMessageContaining("mnist-v1")
                .hasMessageContaining("differs from the pinned");
        Extractors.Shipped missing = new Extractors.Shipped("mnist", "v0", real.sha256());
        assertThatThrownBy(() -> Extractors.load(missing)).hasMessageContaining("missing from the jar");
        assertThat(Extractors.shippedFor("folder:x:28:grey")).isNull();
    }
}
