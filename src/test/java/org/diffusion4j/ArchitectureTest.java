package org.diffusion4j;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The packages form layers and depend only downwards: the layering the README's architecture section describes, read
 * from the production sources (imports and fully qualified names alike).
 */
class ArchitectureTest {
    private static final List<List<String>> LAYERS = List.of(
            List.of("tensor"),
            List.of("checkpoint", "schedule", "data", "distributed"),
            List.of("model"),
            List.of("sampler", "guidance", "train"),
            List.of("sampling"),
            List.of("eval", "diffusers", "render"),
            List.of("run"),
            List.of("serve"),
            List.of("cli"));

    private static final Pattern REFERENCE = Pattern.compile("org\\.diffusion4j\\.([a-z]+)\\.");

    @Test
    void everyPackageDependsOnlyOnLowerLayers() throws IOException {
        Map<String, TreeSet<String>> deps = dependencies(Path.of("src/main/java/org/diffusion4j"));
        assertThat(deps.keySet()).as("every package has a layer")
                .isSubsetOf(LAYERS.stream().flatMap(List::stream).toList());
        List<String> violations = new ArrayList<>();
        deps.forEach((pkg, used) -> {
            for (String dep : used) {
                if (layer(dep) >= layer(pkg)) {
                    violations.add(pkg + " -> " + dep);
                }
            }
        });
        assertThat(violations).isEmpty();
        assertThat(deps.get("cli")).as("the check sees references").contains("run", "serve", "tensor");
    }

    private static int layer(String pkg) {
        for (int i = 0; i < LAYERS.size(); i++) {
            if (LAYERS.get(i).contains(pkg)) {
                return i;
            }
        }
        return Integer.MAX_VALUE;
    }

    /** Package -> the other project packages its sources name. */
    private static Map<String, TreeSet<String>> dependencies(Path root) throws IOException {
        Map<String, TreeSet<String>> out = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String pkg = root.relativize(file).getName(0).toString();
                TreeSet<String> used = out.computeIfAbsent(pkg, k -> new TreeSet<>());
                Matcher m = REFERENCE.matcher(Files.readString(file));
                while (m.find()) {
                    if (!m.group(1).equals(pkg)) {
                        used.add(m.group(1));
                    }
                }
            }
        }
        return out;
    }
}
