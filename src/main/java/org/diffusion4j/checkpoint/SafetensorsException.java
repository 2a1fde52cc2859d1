package org.diffusion4j.checkpoint;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/** A safetensors file that breaks the format. Always names the file and what is wrong with it. */
public final class SafetensorsException extends IOException {
    private static final long serialVersionUID = 1L;

    /** What kind of violation. */
    public enum Reason {
        /** Shorter than the 8-byte length prefix, or a declared header past the end of the file. */
        TRUNCATED,
        /** Declared header length above the 100 MB limit. */
        HEADER_TOO_LARGE,
        /** Header bytes are not UTF-8. */
        HEADER_NOT_UTF8,
        /** Header is not a JSON object, or not valid JSON. */
        HEADER_NOT_JSON,
        /** A key appears twice in the header (or in one entry). */
        DUPLICATE_KEY,
        /** {@code __metadata__} is not an object of strings. */
        BAD_METADATA,
        /** A tensor entry lacks a field, has an unknown one, or has a field of the wrong type. */
        BAD_ENTRY,
        /** A dtype we do not know. */
        UNKNOWN_DTYPE,
        /** Shape product times element size overflows. */
        SHAPE_OVERFLOW,
        /** Shape times dtype size differs from the entry's byte range. */
        SIZE_MISMATCH,
        /** Offsets overlap, leave a gap, do not start at 0, or run past the data. */
        BAD_OFFSETS,
        /** Bytes after the last tensor. */
        TRAILING_BYTES
    }

    private final Reason reason;

    public SafetensorsException(Path file, Reason reason, String detail) {
        super(file + ": invalid safetensors file (" + reason.name().toLowerCase(Locale.ROOT) + "): " + detail);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
