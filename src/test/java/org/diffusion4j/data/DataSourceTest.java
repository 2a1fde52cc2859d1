package org.diffusion4j.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class DataSourceTest {
    @Test
    void rowsOfABatchAreThatSliceOfTheFullDrawAndConsumeTheSameRandomness() {
        try (PointerScope scope = new PointerScope()) {
            DataSource moons = ToyDataset.TWO_MOONS;
            Rng a = Rng.of(4);
            Rng b = Rng.of(4);
            DataSource.Batch full = moons.labeledBatch(2, 10, a);
            DataSource.Batch rows = moons.labeledBatch(2, 10, b, 5, 10);
            assertThat(Shapes.of(rows.x())).containsExactly(5, 2);
            assertThat(Tensors.toFloats(rows.x())).containsExactly(Tensors.toFloats(full.x().narrow(0, 5, 5)));
            assertThat(Tensors.toFloats(b.randn(2))).containsExactly(Tensors.toFloats(a.randn(2)));
            // The whole batch is the batch itself.
            assertThat(Tensors.toFloats(moons.labeledBatch(2, 10, Rng.of(4), 0, 10).x()))
                    .containsExactly(Tensors.toFloats(full.x()));
            assertThatThrownBy(() -> moons.labeledBatch(2, 10, Rng.of(4), 3, 3)).hasMessageContaining("rows [3, 3)");
            assertThatThrownBy(() -> moons.labeledBatch(2, 10, Rng.of(4), -1, 3)).hasMessageContaining("outside a "
                    + "batch of 10");
        }
    }
}
