package cn.cpin.node.selection;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.common.v1.Money;
import cn.cpin.node.IdentifierIssuer;
import cn.cpin.node.RequestLedger;
import cn.cpin.node.servicecenter.ParticipantRegistry;
import cn.cpin.protocol.Sha256;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.KeyValueStore;
import cn.cpin.selection.v1.CloseDedicatedLineRequest;
import cn.cpin.selection.v1.DedicatedLine;
import cn.cpin.selection.v1.DedicatedLineStatus;
import cn.cpin.selection.v1.LineEndpoint;
import cn.cpin.selection.v1.ListDedicatedLinesRequest;
import cn.cpin.selection.v1.OpenDedicatedLineRequest;
import cn.cpin.servicecenter.v1.Participant;
import cn.cpin.servicecenter.v1.ParticipationKind;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Dedicated lines (flow 11, SEL-012, SEL-013): line providers open lines between two places,
 * which selection then uses as network options and orders reserve bandwidth on. A line as read
 * states in {@code available_bandwidth_mbps} what is still free: the bandwidth offered at opening
 * less the most that orders hold at any instant from now on. The open lines are kept in memory
 * for selection, refreshed on every change here (lines and their bookings) and, for replicas
 * sharing the store or bookings that expire, at most {@link #REFRESH_MILLIS} later. Thread-safe.
 */
public final class DedicatedLineBook {
  static final String LINES = "sel/line/";
  /** Where {@link OrderBook} keeps the bandwidth booked on each line. */
  static final String BOOKINGS = "sel/booking/line/";
  static final long REFRESH_MILLIS = 1_000;
  private static final Pattern CURRENCY = Pattern.compile("[A-Z]{3}");

  private final KeyValueStore store;
  private final Clock clock;
  private final ParticipantRegistry participants;
  private final IdentifierIssuer issuer;
  private final RequestLedger ledger;
  private final Predicate<String> knownResource;
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  private volatile Snapshot open = new Snapshot(List.of(), Long.MIN_VALUE);

  private record Snapshot(List<DedicatedLine> lines, long readAt) {}

  /**
   * @param knownResource whether a resource id is in this node's inventory (endpoint check)
   */
  public DedicatedLineBook(KeyValueStore store, Clock clock, ParticipantRegistry participants,
      IdentifierIssuer issuer, Predicate<String> knownResource) {
    this.store = store;
    this.clock = clock;
    this.participants = participants;
    this.issuer = issuer;
    this.ledger = new RequestLedger(store, "sel/request/");
    this.knownResource = knownResource;
  }

  /** All OPEN lines, ordered by line id, for selection; cheap (held in memory). */
  public List<DedicatedLine> openLines() {
    Snapshot current = open;
    if (clock.millis() - current.readAt() >= REFRESH_MILLIS || clock.millis() < current.readAt()) {
      current = refresh();
    }
    return current.lines();
  }

  /** Runs {@code listener} after every line opened or closed at this node. */
  public void onChange(Runnable listener) {
    listeners.add(listener);
  }

  private synchronized Snapshot refresh() {
    List<DedicatedLine> lines = new ArrayList<>();
    for (byte[] value : store.scan(LINES).values()) {
      DedicatedLine line = parse(value);
      if (line.getStatus() == DedicatedLineStatus.DEDICATED_LINE_STATUS_OPEN) {
        lines.add(withFree(line));
      }
    }
    Snapshot fresh = new Snapshot(List.copyOf(lines), clock.millis());
    open = fresh;
    return fresh;
  }

  private void changed() {
    refresh();
    listeners.forEach(Runnable::run);
  }

  /** Called by {@link OrderBook} after it changed the bandwidth booked on a line. */
  void bookingsChanged() {
    changed();
  }

  /** The line as stored: {@code available_bandwidth_mbps} is what was offered at opening. */
  DedicatedLine offered(Identifier id) {
    return store.get(LINES + id).map(DedicatedLineBook::parse).orElseThrow(() -> notFound(id));
  }

  // What an open line still has free: offered less the peak booked from now on (SEL-015).
  private DedicatedLine withFree(DedicatedLine line) {
    if (line.getStatus() != DedicatedLineStatus.DEDICATED_LINE_STATUS_OPEN) {
      return line;
    }
    long now = clock.millis();
    long held = store.get(BOOKINGS + line.getLineId()).map(Bookings::parse)
        .orElse(Bookings.NONE).live(now).peak(now, Long.MAX_VALUE);
    return line.toBuilder().setAvailableBandwidthMbps((int) Math.max(0,
        line.getAvailableBandwidthMbps() - held)).build();
  }

  /** Opens a line for its provider (SEL-012); a retried request returns the first line. */
  public DedicatedLine open(CpinIdentity caller, OpenDedicatedLineRequest request) {
    List<FieldViolation> violations = new ArrayList<>();
    endpoint("endpoint_a", request.hasEndpointA(), request.getEndpointA(), violations);
    endpoint("endpoint_z", request.hasEndpointZ(), request.getEndpointZ(), violations);
    if (request.getBandwidthMbps() == 0) {
      violations.add(invalid("bandwidth_mbps", "must be at least 1"));
    } else if (request.getAvailableBandwidthMbps() > request.getBandwidthMbps()) {
      violations.add(invalid("available_bandwidth_mbps", "must not exceed bandwidth_mbps"));
    }
    if (!request.hasLatency() || !Durations.isValid(request.getLatency())
        || Durations.toNanos(request.getLatency()) <= 0) {
      violations.add(invalid("latency", "must be positive"));
    }
    if (!request.hasPricePerMbpsHour()) {
      violations.add(new FieldViolation("price_per_mbps_hour", "is required",
          ErrorReason.ERROR_REASON_FIELD_REQUIRED));
    } else {
      money("price_per_mbps_hour", request.getPricePerMbpsHour(), violations);
    }
    if (!violations.isEmpty()) {
      throw new InvalidArgumentException(violations);
    }
    Identifier provider = Identifier.parse(request.getProviderId());
    if (caller.kind() == CpinIdentity.Kind.PARTICIPANT
        && !caller.participantId().orElseThrow().equals(provider)) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
          caller.uri() + " may open lines only as itself");
    }
    RequestLedger.Entry entry = ledger.entry(caller, "OpenDedicatedLine", request.getRequestId(),
        request);
    Optional<byte[]> earlier = entry.replay();
    if (earlier.isPresent()) {
      return parse(earlier.get());
    }
    Participant record = participants.requireLocal(provider);
    if (!record.getKindsList().contains(ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE)) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_ROLE_NOT_ALLOWED,
          "participant " + provider + " is not a dedicated-line provider");
    }
    participants.requireApproved(provider);
    for (LineEndpoint end : List.of(request.getEndpointA(), request.getEndpointZ())) {
      if (!end.getResourceId().isEmpty() && !knownResource.test(end.getResourceId())) {
        throw CpinException.notFound("resource " + end.getResourceId() + " is not known here",
            Map.of("resource_id", end.getResourceId()));
      }
    }
    Identifier id = issuer.issue("sel-l-" + Sha256.hex(entry.key()).substring(0, 40),
        IdentifierKind.DEDICATED_LINE, provider.toString(), Map.of());
    Timestamp now = Timestamps.fromMillis(clock.millis());
    DedicatedLine line = DedicatedLine.newBuilder()
        .setLineId(id.toString())
        .setProviderId(provider.toString())
        .setEndpointA(request.getEndpointA())
        .setEndpointZ(request.getEndpointZ())
        .setBandwidthMbps(request.getBandwidthMbps())
        .setAvailableBandwidthMbps(request.getAvailableBandwidthMbps() == 0
            ? request.getBandwidthMbps() : request.getAvailableBandwidthMbps())
        .setLatency(request.getLatency())
        .setPricePerMbpsHour(request.getPricePerMbpsHour())
        .setStatus(DedicatedLineStatus.DEDICATED_LINE_STATUS_OPEN)
        .setOpenedAt(now)
        .setVersion(1)
        .build();
    if (!store.write(entry.record(line.toByteArray(), Map.of(LINES + id, line.toByteArray())),
        List.of(), entry.absent(Map.of()))) {
      return parse(entry.replay().orElseThrow());
    }
    changed();
    return line;
  }

  /** Closes a line (SEL-013); closing a closed line returns it unchanged. */
  public DedicatedLine close(CpinIdentity caller, CloseDedicatedLineRequest request) {
    Identifier id = Identifier.parse(request.getLineId());
    while (true) {
      byte[] stored = store.get(LINES + id).orElseThrow(() -> notFound(id));
      DedicatedLine line = parse(stored);
      requireOwnerOrOperator(caller, line);
      if (line.getStatus() == DedicatedLineStatus.DEDICATED_LINE_STATUS_CLOSED) {
        return line;
      }
      DedicatedLine closed = line.toBuilder()
          .setStatus(DedicatedLineStatus.DEDICATED_LINE_STATUS_CLOSED)
          .setClosedAt(Timestamps.fromMillis(clock.millis()))
          .setVersion(line.getVersion() + 1)
          .build();
      if (store.write(Map.of(LINES + id, closed.toByteArray()), List.of(),
          Map.of(LINES + id, Optional.of(stored)))) {
        changed();
        return closed;
      }
    }
  }

  /** The line, or NOT_FOUND. */
  public DedicatedLine get(Identifier id) {
    return find(id).orElseThrow(() -> notFound(id));
  }

  /** The line, if known here. */
  public Optional<DedicatedLine> find(Identifier id) {
    return store.get(LINES + id).map(DedicatedLineBook::parse).map(this::withFree);
  }

  /** One page of lines, by line id, matching the request's filters, and the next page token. */
  public Page list(ListDedicatedLinesRequest request, int size) {
    List<FieldViolation> violations = new ArrayList<>();
    if (!request.getProvinceCode().isEmpty()
        && !NodeCode.isKnownProvince(request.getProvinceCode())) {
      violations.add(invalid("province_code", "must be a GB/T 2260 province code"));
    }
    // A token names the filter it was made for, so it cannot be replayed under another one.
    String filter = Sha256.hex(java.util.HexFormat.of().formatHex(
        request.toBuilder().clearPageSize().clearPageToken().build().toByteArray()))
        .substring(0, 16);
    String after = "";
    if (!request.getPageToken().isEmpty()) {
      String[] parts = request.getPageToken().split("\\.", 2);
      if (parts.length != 2 || !parts[0].equals(filter) || !Identifier.isValid(parts[1])) {
        violations.add(invalid("page_token", "is not a token returned for the same filter"));
      } else {
        after = parts[1];
      }
    }
    if (!violations.isEmpty()) {
      throw new InvalidArgumentException(violations);
    }
    List<DedicatedLine> page = new ArrayList<>();
    boolean more = false;
    for (Map.Entry<String, byte[]> e : store.scan(LINES).entrySet()) {
      if (!after.isEmpty() && e.getKey().substring(LINES.length()).compareTo(after) <= 0) {
        continue;
      }
      DedicatedLine line = withFree(parse(e.getValue()));
      if (!request.getProviderId().isEmpty()
          && !line.getProviderId().equals(request.getProviderId())
          || !request.getProvinceCode().isEmpty()
          && !line.getEndpointA().getProvinceCode().equals(request.getProvinceCode())
          && !line.getEndpointZ().getProvinceCode().equals(request.getProvinceCode())
          || request.getStatusValue() != 0 && line.getStatus() != request.getStatus()) {
        continue;
      }
      if (page.size() == size) {
        more = true;
        break;
      }
      page.add(line);
    }
    String next = more ? filter + "." + page.get(page.size() - 1).getLineId() : "";
    return new Page(page, next);
  }

  /** One page of {@link #list}. */
  public record Page(List<DedicatedLine> lines, String nextPageToken) {}

  private static void requireOwnerOrOperator(CpinIdentity caller, DedicatedLine line) {
    if (caller.kind() == CpinIdentity.Kind.PARTICIPANT
        && !caller.participantId().orElseThrow().toString().equals(line.getProviderId())) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
          caller.uri() + " does not own line " + line.getLineId());
    }
  }

  private static void endpoint(String field, boolean present, LineEndpoint end,
      List<FieldViolation> out) {
    if (!present) {
      out.add(new FieldViolation(field, "is required", ErrorReason.ERROR_REASON_FIELD_REQUIRED));
      return;
    }
    if (!NodeCode.isKnownProvince(end.getProvinceCode())) {
      out.add(invalid(field + ".province_code", "must be a GB/T 2260 province code"));
    }
  }

  static void money(String field, Money m, List<FieldViolation> out) {
    if (!CURRENCY.matcher(m.getCurrencyCode()).matches()) {
      out.add(invalid(field + ".currency_code", "must be an ISO 4217 code such as CNY"));
    }
    if (m.getMinorUnits() < 0) {
      out.add(invalid(field + ".minor_units", "must not be negative"));
    }
  }

  static FieldViolation invalid(String field, String description) {
    return new FieldViolation(field, description, ErrorReason.ERROR_REASON_INVALID_FIELDS);
  }

  private static CpinException notFound(Identifier id) {
    return CpinException.notFound("dedicated line " + id + " is not known here",
        Map.of("line_id", id.toString()));
  }

  static DedicatedLine parse(byte[] bytes) {
    try {
      return DedicatedLine.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt dedicated line", e);
    }
  }
}
