package org.diffusion4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.Set;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class LabeledImagesTest {
    /** 10 images of 1x2x2 whose pixels all equal the image index (so a batch reveals which images it holds). */
    private static LabeledImages tiny() {
        byte[] px = new byte[40];
        byte[] labels = new byte[10];
        for (int i = 0; i < 10; i++) {
            for (int p = 0; p < 4; p++) {
                px[4 * i + p] = (byte) (i * 20);
            }
            labels[i] = (byte) (i % 3);
        }
        return new LabeledImages(px, labels, 10, 1, 2, 2, 3, "tiny");
    }

    @Test
    void slicesImagesInFileOrderScaledToMinusOneOne() {
        try (PointerScope scope = new PointerScope()) {
            Tensor s = tiny().slice(3, 2);
            assertThat(Shapes.of(s)).containsExactly(2, 1, 2, 2);
            float a = 60 / 127.5f - 1;
            float b = 80 / 127.5f - 1;
            assertThat(Tensors.toFloats(s)).containsExactly(a, a, a, a, b, b, b, b);
            assertThatThrownBy(() -> tiny().slice(9, 2)).hasMessageContaining("tiny").hasMessageContaining("[9, 11)");
            // The stream position maps through the same per-epoch permutation as the instance walk.
            assertThat(LabeledImages.shuffledIndex(7, 13, 10)).isEqualTo(tiny().index(7, 13));
        }
    }

    @Test
    void epochsVisitEveryImageOnceInASeededOrder() {
        LabeledImages d = tiny();
        Set<Integer> epoch0 = new HashSet<>();
        for (long pos = 0; pos < 10; pos++) {
            epoch0.add(d.index(7, pos));
        }
        assertThat(epoch0).hasSize(10);
        int[] a = new int[10];
        int[] b = new int[10];
        int[] c = new int[10];
        for (int i = 0; i < 10; i++) {
            a[i] = d.index(7, 10 + i);
            b[i] = d.index(7, 10 + i);
            c[i] = d.index(8, 10 + i);
        }
        assertThat(a).containsExactly(b).isNotEqualTo(c);
    }

    @Test
    void batchesAreScaledToMinusOneOneAndDependOnlyOnTheStep() {
        try (PointerScope scope = new PointerScope()) {
            DataSource s = tiny().source(3, false);
            Tensor b1 = s.batch(4, 5, Rng.of(1));
            Tensor b2 = s.batch(4, 5, Rng.of(99));
            assertThat(Shapes.of(b1)).containsExactly(5, 1, 2, 2);
            assertThat(Tensors.toFloats(b1)).containsExactly(Tensors.toFloats(b2));
            assertThat(b1.min().item_double()).isGreaterThanOrEqualTo(-1);
            assertThat(b1.max().item_double()).isLessThanOrEqualTo(1);
            // Image 0 is all zero bytes, which map to -1.
            assertThat(Tensors.toFloats(tiny().source(3, false).batch(0, 10, Rng.of(1)))).contains(-1f).doesNotContain(-2f);
        }
    }

    @Test
    void horizontalFlipMirrorsColumns() {
        byte[] px = {0, (byte) 255};
        LabeledImages one = new LabeledImages(px, null, 1, 1, 1, 2, 1, "one");
        try (PointerScope scope = new PointerScope()) {
            boolean sawFlip = false;
            boolean sawPlain = false;
            for (int step = 0; step < 20; step++) {
                float[] v = Tensors.toFloats(one.source(0, true).batch(step, 1, Rng.of(step)));
                sawFlip |= v[0] == 1f && v[1] == -1f;
                sawPlain |= v[0] == -1f && v[1] == 1f;
            }
            assertThat(sawFlip).isTrue();
            assertThat(sawPlain).isTrue();
        }
    }

    @Test
    void aRankDecodesOnlyItsRowsOfTheGlobalBatchWithTheSameDraws() {
        try (PointerScope scope = new PointerScope()) {
            DataSource s = tiny().source(3, true);
            Rng a = Rng.of(9);
            Rng b = Rng.of(9);
            DataSource.Batch full = s.labeledBatch(5, 8, a);
            DataSource.Batch part = s.labeledBatch(5, 8, b, 4, 8);
            assertThat(Shapes.of(part.x())).containsExactly(4, 1, 2, 2);
            assertThat(Tensors.toFloats(part.x())).containsExactly(Tensors.toFloats(full.x().narrow(0, 4, 4)));
            assertThat(Tensors.toFloats(part.labels().to(ScalarType.Float)))
                    .containsExactly(Tensors.toFloats(full.labels().narrow(0, 4, 4)
                            .to(ScalarType.Float)));
            // The flips were drawn for the whole batch, so the generators stay in step for the trainer's draws.
            assertThat(Tensors.toFloats(b.rand(3))).containsExactly(Tensors.toFloats(a.rand(3)));
            assertThatThrownBy(() -> s.labeledBatch(5, 8, Rng.of(1), 6, 9)).hasMessageContaining("rows [6, 9)");
        }
    }

    @Test
    void rejectsInconsistentData() {
        assertThatThrownBy(() -> new LabeledImages(new byte[7], null, 2, 1, 2, 2, 1, "x")).hasMessageContaining("7 bytes");
        assertThatThrownBy(() -> new LabeledImages(new byte[8], new byte[] {0, 5}, 2, 1, 2, 2, 3, "x"))
                .hasMessageContaining("label 5 of image 1 is out of range [0, 3)");
        assertThatThrownBy(() -> new LabeledImages(new byte[8], new byte[] {0}, 2, 1, 2, 2, 3, "x"))
                .hasMessageContaining("1 labels for 2 images");
    }
}
