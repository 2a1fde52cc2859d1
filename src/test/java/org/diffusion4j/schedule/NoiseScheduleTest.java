package org.diffusion4j.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import org.assertj.core.api.Assertions;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;

class NoiseScheduleTest {
    /** The schedule a diffusers case file was built with. */
    static ScheduleConfig configOf(JsonNode full) {
        return new ScheduleConfig(full.get("num_train_timesteps").asInt(),
                BetaSchedule.parse(full.get("beta_schedule").asText()), full.get("beta_start").asDouble(),
                full.get("beta_end").asDouble(), full.path("rescale_betas_zero_snr").asBoolean(false));
    }

    @Test
    void tablesMatchEveryRecordedDiffusersCase() {
        List<Path> cases = Shared.schedulerCases();
        int checked = 0;
        for (Path file : cases) {
            JsonNode c = Shared.read(file);
            if (c.get("betas").isNull()) {
                continue;
            }
            NoiseSchedule s = NoiseSchedule.of(configOf(c.get("full_config")));
            double[] betas = Shared.doubles(c.get("betas"));
            double[] ac = Shared.doubles(c.get("alphas_cumprod"));
            assertThat(s.size()).as(file.toString()).isEqualTo(betas.length);
            // Bit-exact: the float32 islands of diffusers (torch's linspace kernel, float64 cumprod) are emulated.
            assertBitExact(s.betas(), betas, file + " betas", betas.length);
            // Euler-family schedulers replace a zero terminal alpha-bar by 2^-24 to keep sigma finite; that is a
            // sampler's choice, not the training schedule's, so the last entry is compared only when it is not 0.
            int n = ac[ac.length - 1] == 0x1p-24 && s.alphaBar(ac.length - 1) == 0 ? ac.length - 1 : ac.length;
            assertBitExact(s.alphasCumprod(), ac, file + " alphas_cumprod", n);
            checked++;
        }
        // Linear, scaled_linear, cosine, zero-SNR and T = 500 all appear among these.
        assertThat(checked).isGreaterThanOrEqualTo(20);
    }

    private static void assertBitExact(double[] actual, double[] expected, String what, int n) {
        assertThat(actual).as(what).hasSameSizeAs(expected);
        for (int i = 0; i < n; i++) {
            if (actual[i] != expected[i]) {
                throw new AssertionError(what + "[" + i + "]: " + actual[i] + " != recorded " + expected[i]);
            }
        }
    }

    @Test
    void linearScheduleEndpointsAndMonotonicAlphaBar() {
        NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        assertThat(s.beta(0)).isEqualTo((float) 1e-4);
        assertThat(s.beta(999)).isEqualTo((float) 0.02);
        for (int t = 1; t < s.size(); t++) {
            assertThat(s.alphaBar(t)).isLessThan(s.alphaBar(t - 1));
        }
        // DDPM's well-known terminal alpha-bar for this schedule is about 4.0e-5.
        assertThat(s.alphaBar(999)).isBetween(3.9e-5, 4.1e-5);
    }

    @Test
    void sigmoidScheduleStaysInsideItsRange() {
        NoiseSchedule s = NoiseSchedule.of(new ScheduleConfig(1000, BetaSchedule.SIGMOID, 1e-4, 0.02, false));
        double sig6 = 1 / (1 + Math.exp(6));
        // sigmoid(-6) and sigmoid(6) at the ends, 1/2 in the middle, scaled into [beta_start, beta_end].
        assertThat(s.beta(0)).isCloseTo(1e-4 + sig6 * 0.0199, Assertions.within(1e-9));
        assertThat(s.beta(999)).isCloseTo(1e-4 + (1 - sig6) * 0.0199, Assertions.within(1e-9));
        assertThat(s.beta(499) + s.beta(500)).isCloseTo(1e-4 * 2 + 0.0199, Assertions.within(1e-7));
    }

    @Test
    void zeroTerminalSnrEndsAtZeroAndKeepsTheFirstStep() {
        ScheduleConfig plain = new ScheduleConfig(1000, BetaSchedule.SCALED_LINEAR, 0.00085, 0.012, false);
        ScheduleConfig zero = new ScheduleConfig(1000, BetaSchedule.SCALED_LINEAR, 0.00085, 0.012, true);
        NoiseSchedule a = NoiseSchedule.of(plain);
        NoiseSchedule b = NoiseSchedule.of(zero);
        assertThat(b.alphaBar(999)).isEqualTo(0.0);
        assertThat(b.alphaBar(0)).isCloseTo(a.alphaBar(0), Assertions.within(1e-6));
    }

    @Test
    void sigmasAreTheVarianceExplodingView() {
        NoiseSchedule s = NoiseSchedule.of(ScheduleConfig.ddpmDefault());
        double[] sig = s.sigmas();
        for (int t : new int[] {0, 10, 500, 999}) {
            assertThat(sig[t]).isCloseTo(Sigmas.fromAlphaBar(s.alphaBar(t)),
                    Assertions.withinPercentage(1e-4));
        }
    }

    @Test
    void configRejectsNonsense() {
        assertThatThrownBy(() -> new ScheduleConfig(1, BetaSchedule.LINEAR, 1e-4, 0.02, false))
                .hasMessageContaining("num_train_timesteps");
        assertThatThrownBy(() -> new ScheduleConfig(1000, BetaSchedule.LINEAR, 0.02, 1e-4, false))
                .hasMessageContaining("beta_end");
        assertThatThrownBy(() -> new ScheduleConfig(1000, BetaSchedule.LINEAR, Double.NaN, 0.02, false))
                .hasMessageContaining("beta_start");
        assertThatThrownBy(() -> NoiseSchedule.ofBetas(ScheduleConfig.ddpmDefault(), new double[3]))
                .hasMessageContaining("3 betas");
    }
}
