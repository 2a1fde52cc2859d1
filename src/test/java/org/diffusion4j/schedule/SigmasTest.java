package org.diffusion4j.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class SigmasTest {
    @Test
    void alphaBarAndSigmaAreInverse() {
        for (double ab : new double[] {0.999, 0.5, 1e-4}) {
            assertThat(Sigmas.alphaBarFromSigma(Sigmas.fromAlphaBar(ab))).isCloseTo(ab, within(1e-15));
        }
        assertThat(Sigmas.fromAlphaBar(0)).isInfinite();
    }

    @Test
    void betasFromAlphaBarsInvertsTheCumulativeProduct() {
        NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        double[] back = Sigmas.betasFromAlphaBars(s.alphasCumprod());
        for (int t = 0; t < back.length; t++) {
            assertThat(back[t]).isCloseTo(s.beta(t), within(2e-6));
        }
    }

    @Test
    void karrasHitsTheEndsAndFollowsEquationFive() {
        double[] k = Sigmas.karras(0.002, 80, 10, 7);
        assertThat(k[0]).isCloseTo(80, within(1e-9));
        assertThat(k[9]).isCloseTo(0.002, within(1e-12));
        double mid = Math.pow(Math.pow(80, 1 / 7.0) + 4 / 9.0 * (Math.pow(0.002, 1 / 7.0) - Math.pow(80, 1 / 7.0)), 7);
        assertThat(k[4]).isCloseTo(mid, within(1e-12));
        for (int i = 1; i < k.length; i++) {
            assertThat(k[i]).isLessThan(k[i - 1]);
        }
    }

    @Test
    void logLinearIsGeometric() {
        double[] s = Sigmas.logLinear(0.1, 10, 3);
        assertThat(s).containsExactly(new double[] {10, 1, 0.1}, within(1e-12));
    }

    @Test
    void toTimestepInvertsTheTrainingSigmas() {
        double[] train = NoiseSchedule.of(ScheduleConfig.ddpmDefault()).sigmas();
        assertThat(Sigmas.toTimestep(train[0], train)).isCloseTo(0, within(1e-9));
        assertThat(Sigmas.toTimestep(train[437], train)).isCloseTo(437, within(1e-9));
        assertThat(Sigmas.toTimestep(train[999], train)).isCloseTo(999, within(1e-9));
        double between = Math.exp(0.5 * (Math.log(train[10]) + Math.log(train[11])));
        assertThat(Sigmas.toTimestep(between, train)).isCloseTo(10.5, within(1e-9));
        assertThat(Sigmas.toTimestep(1e6, train)).isCloseTo(999, within(1e-9));
    }

    @Test
    void rejectsBadRanges() {
        assertThatThrownBy(() -> Sigmas.karras(0, 1, 5, 7)).hasMessageContaining("sigma_min");
        assertThatThrownBy(() -> Sigmas.karras(2, 1, 5, 7)).hasMessageContaining("sigma_max");
        assertThatThrownBy(() -> Sigmas.logLinear(0.1, 1, 0)).hasMessageContaining(">= 1");
        assertThatThrownBy(() -> Sigmas.fromAlphaBar(1.5)).hasMessageContaining("[0, 1]");
    }
}
