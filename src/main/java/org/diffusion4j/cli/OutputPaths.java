package org.diffusion4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Guards outputs: never overwrite an input, and never overwrite a result unless asked. */
final class OutputPaths {
    private OutputPaths() {}

    /**
     * Checks that {@code out} may be written and creates its directory.
     *
     * @param option the CLI option naming this output, for messages
     * @param inputs files this command reads; writing over one is always refused
     */
    static void check(Path out, String option, boolean overwrite, Path... inputs) throws IOException {
        Path abs = out.toAbsolutePath().normalize();
        for (Path in : inputs) {
            if (in != null && Files.exists(in) && Files.exists(abs) && Files.isSameFile(in, abs)) {
                throw new IllegalArgumentException(option + " " + out + " is also an input of this command; "
                        + "choose another output path");
            }
            if (in != null && in.toAbsolutePath().normalize().equals(abs)) {
                throw new IllegalArgumentException(option + " " + out + " is also an input of this command; "
                        + "choose another output path");
            }
        }
        if (Files.isDirectory(abs)) {
            throw new IllegalArgumentException(option + " " + out + " is a directory; give a file path");
        }
        if (Files.exists(abs) && !overwrite) {
            throw new IllegalArgumentException(option + " " + out + " already exists; pass --overwrite to replace it");
        }
        Path parent = abs.getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
    }

    /** Refuses a file name whose extension promises a format this output is not written in (e.g. PNG into x.jpg). */
    static void requireExtension(Path out, String option, String ext) {
        String name = out.getFileName() == null ? "" : out.getFileName().toString();
        if (!name.toLowerCase(Locale.ROOT).endsWith(ext)) {
            throw new IllegalArgumentException(option + " " + out + ": this output is written as "
                    + ext.substring(1).toUpperCase(Locale.ROOT) + "; name it *" + ext);
        }
    }

    /** {@code dir/name.ext} -> {@code dir/name<suffix>}. */
    static Path withSuffix(Path file, String ext, String suffix) {
        String name = file.getFileName().toString();
        String stem = name.endsWith(ext) ? name.substring(0, name.length() - ext.length()) : name;
        return file.resolveSibling(stem + suffix);
    }
}
