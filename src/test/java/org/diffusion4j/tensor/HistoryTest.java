package org.diffusion4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

class HistoryTest {
    @Test
    void keepsCopiesOfTheNewestAcrossStepScopesAndFreesWhatDropsOff() {
        Torch.init();
        try (History h = new History(2)) {
            Tensor first;
            for (int step = 0; step < 3; step++) {
                try (PointerScope scope = new PointerScope()) {
                    Tensor x = Tensors.fromFloats(new float[] {step}, 1);
                    h.push(x);
                    x.fill_(Tensors.scalar(-1));
                }
            }
            assertThat(h.size()).isEqualTo(2);
            assertThat(Tensors.toFloats(h.get(0))).as("a copy, not the pushed tensor").containsExactly(2f);
            assertThat(Tensors.toFloats(h.get(1))).containsExactly(1f);
            first = h.get(1);
            try (PointerScope scope = new PointerScope()) {
                h.push(Tensors.fromFloats(new float[] {3}, 1));
            }
            assertThat(first.isNull()).as("the entry that dropped off is freed").isTrue();
            assertThatThrownBy(() -> h.get(2)).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("holds 2 tensors");
        }
    }

    @Test
    void closeFreesEveryEntryAndRefusesMore() {
        Torch.init();
        History h = new History(3);
        h.push(Tensors.fromFloats(new float[] {1}, 1));
        h.push(Tensors.fromFloats(new float[] {2}, 1));
        Tensor a = h.get(0);
        Tensor b = h.get(1);
        h.close();
        assertThat(a.isNull()).isTrue();
        assertThat(b.isNull()).isTrue();
        assertThat(h.isEmpty()).isTrue();
        assertThatThrownBy(() -> h.push(Tensors.fromFloats(new float[] {3}, 1))).hasMessageContaining("closed");
        assertThatThrownBy(() -> new History(0)).hasMessageContaining("capacity must be >= 1");
    }
}
