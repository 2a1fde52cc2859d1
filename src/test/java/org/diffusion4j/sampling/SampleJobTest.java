package org.diffusion4j.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.diffusion4j.guidance.Guidance;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;

class SampleJobTest {
    private final SamplerSpec spec = SamplerSpec.ddpmFull();

    @Test
    void refusesCountsBatchesAndGuidanceWithoutAClass() {
        assertThatThrownBy(() -> SampleJob.unconditional(spec, 0, 0, 1)).hasMessageContaining("--n must be >= 1");
        assertThatThrownBy(() -> SampleJob.unconditional(spec, 1, 0, 0))
                .hasMessageContaining("--batch-size must be >= 1");
        assertThatThrownBy(() -> new SampleJob(spec, SampleJob.Conditioning.NONE, Guidance.of(3), 1, 0, 1))
                .hasMessageContaining("--guidance needs --class");
        assertThatThrownBy(() -> new SampleJob.Conditioning.OneClass(-1)).hasMessageContaining("class must be >= 0");
        assertThatThrownBy(() -> new SampleJob(null, SampleJob.Conditioning.NONE, Guidance.of(1), 1, 0, 1))
                .hasMessageContaining("must be set");
    }

    @Test
    void anEveryClassJobIsNSamplesOfEachClass() {
        SampleJob all = new SampleJob(spec, new SampleJob.Conditioning.EveryClass(), Guidance.of(3), 4, 7, 2);
        assertThat(all.total(10)).isEqualTo(40);
        SampleJob three = all.forClass(3);
        assertThat(three.conditioning()).isEqualTo(new SampleJob.Conditioning.OneClass(3));
        assertThat(three.total(10)).isEqualTo(4);
        assertThat(three.guidance()).isEqualTo(Guidance.of(3));
        assertThat(three.seed()).isEqualTo(7);
        assertThat(SampleJob.unconditional(spec, 5, 0, 5).total(10)).isEqualTo(5);
    }

    @Test
    void aStartsMaskIsMadeBinaryWhereItEnters() {
        try (PointerScope scope = new PointerScope()) {
            var data = Tensors.fromFloats(new float[4], 1, 1, 2, 2);
            var mask = Tensors.fromFloats(new float[] {0.2f, 0.5f, 0.7f, 0}, 1, 1, 2, 2);
            SampleJob.Start s = new SampleJob.Start(data, 1, mask);
            assertThat(Tensors.toFloats(s.mask())).containsExactly(0, 1, 1, 0);
            assertThat(new SampleJob.Start(data, 0.5, null).mask()).isNull();
            assertThatThrownBy(() -> new SampleJob.Start(data, 0, mask)).hasMessageContaining("strength");
        }
    }
}
