package org.diffusion4j.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.diffusion4j.guidance.Guidance;
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
}
