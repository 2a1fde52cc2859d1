package org.diffusion4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

class TorchTest {
    @Test
    void initGivesLibtorchItsThreadsAndOpenBlasOne() {
        Torch.init();
        assertThat(torch.get_num_threads()).isEqualTo(Integer.getInteger("diffusion4j.threads",
                Runtime.getRuntime().availableProcessors()));
        // A second BLAS thread pool spinning beside libtorch's OpenMP workers made small steps 4-10x slower.
        assertThat(org.bytedeco.openblas.presets.openblas_nolapack.blas_get_num_threads())
                .isEqualTo(Integer.getInteger("diffusion4j.blasThreads", 1));
    }
}
