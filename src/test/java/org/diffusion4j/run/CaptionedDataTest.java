package org.diffusion4j.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.data.DataSource;
import org.diffusion4j.model.text.TextUNet;
import org.diffusion4j.model.text.TextUNetConfig;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.testing.Bars;
import org.junit.jupiter.api.Test;

class CaptionedDataTest {
    private static final List<List<String>> CAPTIONS = List.of(List.of("a horizontal bar", "a flat bar"),
            List.of("a vertical bar"));

    private static TextUNet network() {
        return TextUNetConfig.of(new long[] {1, 8, 8}, List.of(16, 32), 32, 1, CAPTIONS).build(Rng.of(0));
    }

    /** The caption each row's ids spell ("" for a dropped one). */
    private static List<String> decoded(TextUNet net, Tensor ids) {
        List<String> out = new ArrayList<>();
        long[] all = new long[(int) ids.numel()];
        ids.contiguous().data_ptr_long().get(all);
        for (int r = 0; r < ids.size(0); r++) {
            String match = null;
            for (String c : List.of("", "a horizontal bar", "a flat bar", "a vertical bar")) {
                int[] want = net.tokenizer().encodePadded(c).ids();
                boolean same = true;
                for (int j = 0; j < 77; j++) {
                    same &= all[r * 77 + j] == want[j];
                }
                match = same ? c : match;
            }
            out.add(match);
        }
        return out;
    }

    @Test
    void eachRowGetsACaptionOfItsClassOrTheEmptyOne() {
        try (PointerScope scope = new PointerScope()) {
            TextUNet net = network();
            DataSource bars = Bars.images(64, 1).source(0, false);
            CaptionedData data = new CaptionedData(bars, CAPTIONS, 0.25, net);
            DataSource.Batch b = data.labeledBatch(3, 256, Rng.of(9));
            DataSource.Batch plain = bars.labeledBatch(3, 256, Rng.of(9));
            long[] labels = new long[256];
            plain.labels().contiguous().data_ptr_long().get(labels);
            assertThat(b.x().sub(plain.x()).abs().max().item_double()).isZero();
            List<String> captions = decoded(net, b.labels());
            int dropped = 0;
            for (int i = 0; i < 256; i++) {
                String c = captions.get(i);
                assertThat(c).isNotNull();
                if (c.isEmpty()) {
                    dropped++;
                } else {
                    assertThat(CAPTIONS.get((int) labels[i])).contains(c);
                }
            }
            assertThat(captions).contains("a horizontal bar", "a flat bar", "a vertical bar");
            assertThat(dropped).isBetween(40, 90);
            // A batch is a function of (step, rng).
            assertThat(data.labeledBatch(3, 256, Rng.of(9)).labels().sub(b.labels()).abs().max().item_double())
                    .isZero();
        }
    }

    @Test
    void refusesCaptionsForAnotherNumberOfClasses() {
        try (PointerScope scope = new PointerScope()) {
            DataSource bars = Bars.images(64, 1).source(0, false);
            assertThatThrownBy(() -> new CaptionedData(bars, List.of(List.of("a bar")), 0.1, network()))
                    .hasMessageContaining("1 classes").hasMessageContaining("has 2");
            assertThatThrownBy(() -> new CaptionedData(bars, CAPTIONS, 1.0, network()))
                    .hasMessageContaining("dropout");
        }
    }
}
