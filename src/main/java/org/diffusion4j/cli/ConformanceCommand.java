package org.diffusion4j.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.diffusion4j.diffusers.Conformance;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "conformance", mixinStandardHelpOptions = true,
        description = "Replay recorded diffusers/transformers cases (scheduler trajectories, UNet2DModel outputs, "
                + "CLIP tokenizer ids) and compare.")
final class ConformanceCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DIR", description = "Folder of recorded diffusers cases "
            + "(sched_*.json, unet_*.json + their folders; schema in docs/conformance.md).")
    Path dir;

    @Override
    public Integer call() throws Exception {
        List<Path> cases = Conformance.cases(dir);
        int passed = 0;
        for (Path c : cases) {
            Conformance.Result r = Conformance.run(c);
            if (r.passed()) {
                passed++;
            }
            System.out.printf(Locale.ROOT, "%-4s %-55s max error %s (tolerance %s)  %s%n", r.passed() ? "ok" : "FAIL",
                    r.name(), Double.isNaN(r.error()) ? "-" : String.format(Locale.ROOT, "%.1e", r.error()),
                    Double.isNaN(r.tolerance()) ? "-" : String.format(Locale.ROOT, "%.0e", r.tolerance()), r.detail());
        }
        int failed = cases.size() - passed;
        System.out.printf(Locale.ROOT, "%d passed, %d failed%n", passed, failed);
        return failed == 0 ? 0 : 1;
    }
}
