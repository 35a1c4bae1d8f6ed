// Every label of the page in Korean and English, and the current language. DOM-free: the
// app applies it to elements marked data-i18n="key" (and views call t() for what they draw).

const ko = {
  'nav.board': '시세판', 'nav.market': '마켓', 'nav.feeds': '피드 상태', 'nav.subs': '구독',
  'lang.switch': 'English',
  'conn.connecting': '연결 중', 'conn.live': '연결됨', 'conn.disconnected': '연결 끊김',
  'banner.retry': '연결 끊김 — {n}초 후 다시 연결', 'banner.reconnecting': '재연결 중…',
  'banner.schema': '서버 스키마(/descriptors.pb)를 불러오지 못했습니다 — 다시 시도 중',
  'ex.upbit': '업비트', 'ex.bithumb': '빗썸', 'ex.korbit': '코빗',
  'col.market': '마켓', 'col.exchange': '거래소', 'col.last': '현재가', 'col.change': '24시간 변동',
  'col.spread': '스프레드', 'col.high': '최고', 'col.low': '최저',
  'board.empty': '아직 표시할 마켓이 없습니다. 구독 탭에서 마켓을 추가하세요.',
  'board.hint': '행을 누르면 마켓 화면이 열립니다.',
  'market.back': '← 시세판', 'market.exchange': '거래소', 'market.interval': '간격',
  'market.candles': '캔들', 'market.trades': '체결', 'market.book': '호가',
  'market.spread': '거래소 간 스프레드', 'market.vs': '기준', 'market.other': '비교',
  'market.noCandles': '이 구간에 캔들이 없습니다', 'market.noSpread': '두 거래소가 함께 거래된 구간이 없습니다',
  'market.loading': '불러오는 중…', 'market.sameExchange': '서로 다른 두 거래소를 고르세요',
  'col.time': '시간', 'col.price': '가격', 'col.size': '수량', 'col.side': '구분',
  'side.SIDE_BUY': '매수', 'side.SIDE_SELL': '매도', 'side.SIDE_UNSPECIFIED': '-', 'book.empty': '호가 대기 중…',
  'feeds.title': '피드 상태', 'feeds.unimplemented': '이 서버는 피드 상태(ListFeeds)를 제공하지 않습니다.',
  'feeds.replica': '레플리카', 'col.state': '상태', 'col.messages': '메시지', 'col.eps': '초당 이벤트',
  'col.reconnects': '재연결', 'col.gaps': '갭', 'col.reason': '마지막 끊김 사유', 'col.lastMessage': '마지막 메시지',
  'FEED_STATE_UNSPECIFIED': '알 수 없음', 'FEED_STATE_IDLE': '대기', 'FEED_STATE_CONNECTING': '연결 중',
  'FEED_STATE_CONNECTED': '연결됨', 'FEED_STATE_BACKING_OFF': '재시도 대기',
  'gaps.title': '최근 갭 (스트림)', 'gaps.none': '스트림에서 받은 갭이 없습니다.', 'col.from': '시작', 'col.to': '끝',
  'col.backfilled': '백필 체결', 'col.cause': '원인', 'gaps.unknown': '누락 수 알 수 없음',
  'GAP_CAUSE_UNSPECIFIED': '알 수 없음', 'GAP_CAUSE_FEED_OUTAGE': '피드 중단', 'GAP_CAUSE_NOT_RETAINED': '보존 기간 초과',
  'lag.title': '지연 표시 (스트림)', 'lag.count': '지연 표시 수', 'lag.missed': '누락된 이벤트 합계', 'lag.last': '마지막 지연 표시',
  'subs.title': '구독', 'subs.add': '추가', 'subs.remove': '삭제', 'subs.placeholder': '예: ADA',
  'subs.empty': '구독이 없습니다.', 'col.created': '생성 시각',
  'token.title': '인증 토큰', 'token.prompt': '이 서버는 인증 토큰이 필요합니다.', 'token.label': '토큰',
  'token.submit': '확인', 'token.cancel': '취소',
  'err.UNAVAILABLE': '서버에 연결할 수 없습니다. 잠시 후 다시 시도합니다.',
  'err.UNAUTHENTICATED': '인증이 필요합니다.', 'err.PERMISSION_DENIED': '권한이 없습니다.',
  'err.UNIMPLEMENTED': '이 서버에서 지원하지 않는 기능입니다.',
};

const en = {
  'nav.board': 'Board', 'nav.market': 'Market', 'nav.feeds': 'Feeds', 'nav.subs': 'Subscriptions',
  'lang.switch': '한국어',
  'conn.connecting': 'Connecting', 'conn.live': 'Live', 'conn.disconnected': 'Disconnected',
  'banner.retry': 'Disconnected — reconnecting in {n} s', 'banner.reconnecting': 'Reconnecting…',
  'banner.schema': "Could not load the server's schema (/descriptors.pb) — retrying",
  'ex.upbit': 'Upbit', 'ex.bithumb': 'Bithumb', 'ex.korbit': 'Korbit',
  'col.market': 'Market', 'col.exchange': 'Exchange', 'col.last': 'Last', 'col.change': '24 h change',
  'col.spread': 'Spread', 'col.high': 'Highest', 'col.low': 'Lowest',
  'board.empty': 'No markets to show yet. Add one under Subscriptions.',
  'board.hint': 'Click a row to open the market.',
  'market.back': '← Board', 'market.exchange': 'Exchange', 'market.interval': 'Interval',
  'market.candles': 'Candles', 'market.trades': 'Trades', 'market.book': 'Order book',
  'market.spread': 'Spread between exchanges', 'market.vs': 'Base', 'market.other': 'Other',
  'market.noCandles': 'No candles in this range', 'market.noSpread': 'No interval where both exchanges traded',
  'market.loading': 'Loading…', 'market.sameExchange': 'Pick two different exchanges',
  'col.time': 'Time', 'col.price': 'Price', 'col.size': 'Size', 'col.side': 'Side',
  'side.SIDE_BUY': 'Buy', 'side.SIDE_SELL': 'Sell', 'side.SIDE_UNSPECIFIED': '-', 'book.empty': 'Waiting for the order book…',
  'feeds.title': 'Feed status', 'feeds.unimplemented': 'This server does not provide feed status (ListFeeds).',
  'feeds.replica': 'Replica', 'col.state': 'State', 'col.messages': 'Messages', 'col.eps': 'Events/s',
  'col.reconnects': 'Reconnects', 'col.gaps': 'Gaps', 'col.reason': 'Last disconnect', 'col.lastMessage': 'Last message',
  'FEED_STATE_UNSPECIFIED': 'Unknown', 'FEED_STATE_IDLE': 'Idle', 'FEED_STATE_CONNECTING': 'Connecting',
  'FEED_STATE_CONNECTED': 'Connected', 'FEED_STATE_BACKING_OFF': 'Backing off',
  'gaps.title': 'Last gaps (stream)', 'gaps.none': 'No gap seen on the stream.', 'col.from': 'From', 'col.to': 'To',
  'col.backfilled': 'Backfilled trades', 'col.cause': 'Cause', 'gaps.unknown': 'missed count unknown',
  'GAP_CAUSE_UNSPECIFIED': 'Unknown', 'GAP_CAUSE_FEED_OUTAGE': 'Feed outage', 'GAP_CAUSE_NOT_RETAINED': 'Not retained',
  'lag.title': 'Lag markers (stream)', 'lag.count': 'Markers', 'lag.missed': 'Events missed in all', 'lag.last': 'Last marker',
  'subs.title': 'Subscriptions', 'subs.add': 'Add', 'subs.remove': 'Remove', 'subs.placeholder': 'e.g. ADA',
  'subs.empty': 'No subscriptions.', 'col.created': 'Created',
  'token.title': 'Access token', 'token.prompt': 'This server needs an access token.', 'token.label': 'Token',
  'token.submit': 'OK', 'token.cancel': 'Cancel',
  'err.UNAVAILABLE': 'Cannot reach the server. Will try again.',
  'err.UNAUTHENTICATED': 'Authentication required.', 'err.PERMISSION_DENIED': 'Permission denied.',
  'err.UNIMPLEMENTED': 'Not supported by this server.',
};

export const DICT = Object.freeze({ ko, en });
export const LANGS = Object.freeze(['ko', 'en']);

let current = 'en';
const listeners = new Set();

// The stored choice wins; otherwise Korean for any ko* browser language, else English.
export function detectLang(stored, navigatorLanguage) {
  if (LANGS.includes(stored)) return stored;
  return String(navigatorLanguage || '').toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

export function getLang() {
  return current;
}

export function setLang(lang) {
  if (!LANGS.includes(lang) || lang === current) return;
  current = lang;
  for (const fn of listeners) fn(lang);
}

export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// t('banner.retry', {n: 3}) -> "연결 끊김 — 3초 후 다시 연결". Unknown keys show as themselves.
export function t(key, vars) {
  let s = DICT[current][key];
  if (s === undefined) s = en[key];
  if (s === undefined) return key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] === undefined ? '' : String(vars[k])));
  return s;
}
