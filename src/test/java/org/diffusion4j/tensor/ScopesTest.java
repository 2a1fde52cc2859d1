package org.diffusion4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.testing.Rss;
import org.junit.jupiter.api.Test;

class ScopesTest {
    @Test
    void runFreesEverythingCreatedInside() {
        Torch.init();
        Tensor[] inside = new Tensor[1];
        Scopes.run(() -> inside[0] = torch.ones(3));
        assertThat(inside[0].isNull()).isTrue();
    }

    @Test
    void keepSurvivesItsScopeAndBelongsToTheOuterOne() {
        Torch.init();
        Tensor kept;
        try (PointerScope outer = new PointerScope()) {
            kept = Scopes.keep(() -> torch.ones(3).mul(Tensors.scalar(2)));
            assertThat(kept.isNull()).isFalse();
            assertThat(Tensors.toFloats(kept)).containsExactly(2f, 2f, 2f);
        }
        assertThat(kept.isNull()).isTrue();
    }

    @Test
    void computeReturnsPlainValues() {
        Torch.init();
        double v = Scopes.compute(() -> torch.ones(4).sum().item_double());
        assertThat(v).isEqualTo(4.0);
    }

    @Test
    void scopedLoopsKeepNativeMemoryFlat() {
        Torch.init();
        Runnable step = () -> Scopes.run(() -> torch.randn(256, 1024).matmul(torch.randn(1024, 256)).sum());
        for (int i = 0; i < 50; i++) {
            step.run();
        }
        long before = Rss.bytes();
        for (int i = 0; i < 400; i++) {
            step.run();
        }
        long grown = Rss.bytes() - before;
        // 400 unscoped steps would leak ~1.6 GB (two 1 MB inputs and more per step); allow allocator noise only.
        assertThat(grown).isLessThan(64L << 20);
    }
}
