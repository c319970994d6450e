namespace Chat.Hub.Infrastructure;

/// <summary>An error a user can cause: a stable code for clients, an HTTP status, and a Russian message for people.</summary>
public sealed record ChatError(string Code, int Status, string Message)
{
    // Generic
    public static readonly ChatError Validation = new("validation_failed", 400, "Проверьте введённые данные.");
    public static readonly ChatError BadRequest = new("bad_request", 400, "Некорректный запрос.");
    public static readonly ChatError Unauthorized = new("unauthorized", 401, "Войдите в систему.");
    public static readonly ChatError Forbidden = new("forbidden", 403, "Недостаточно прав для этого действия.");
    public static readonly ChatError NotFound = new("not_found", 404, "Не найдено.");
    public static readonly ChatError Conflict = new("conflict", 409, "Действие конфликтует с текущим состоянием.");
    public static readonly ChatError TooManyRequests = new("rate_limited", 429, "Слишком много запросов. Попробуйте позже.");
    public static readonly ChatError ServiceUnavailable = new("service_unavailable", 503, "Сервис временно недоступен. Повторите попытку через несколько секунд.");
    public static readonly ChatError HubMethodNotFound = new("unknown_method", 404, "Такого метода нет на сервере.");
    public static readonly ChatError HubArgumentsInvalid = new("invalid_arguments", 400, "Неверные аргументы метода: проверьте их число и типы.");
    public static readonly ChatError Cancelled = new("request_cancelled", 499, "Запрос отменён: соединение закрыто.");
    public static readonly ChatError Internal = new("internal_error", 500, "Внутренняя ошибка сервера. Мы уже разбираемся.");

    // Sign-in
    public static readonly ChatError CodeInvalid = new("code_invalid", 400, "Неверный код. Проверьте код и попробуйте ещё раз.");
    public static readonly ChatError CodeExpired = new("code_expired", 400, "Код устарел или уже использован. Запросите новый код.");
    public static readonly ChatError CodeAttemptsExceeded = new("code_attempts_exceeded", 400, "Слишком много неверных попыток. Запросите новый код.");
    public static readonly ChatError CodeSendLimit = new("code_send_limit", 429, "Слишком много запросов кода. Попробуйте позже.");
    public static readonly ChatError CodeDeliveryFailed = new("code_delivery_failed", 503, "Не удалось отправить код. Попробуйте ещё раз через минуту.");
    public static readonly ChatError RefreshInvalid = new("refresh_invalid", 401, "Сессия завершена. Войдите снова.");
    public static readonly ChatError OperatorOnly = new("operator_only", 403, "Действие доступно только оператору платформы.");

    // Schools
    public static readonly ChatError SchoolNotFound = new("school_not_found", 404, "Школа не найдена.");
    public static readonly ChatError SchoolSuspended = new("school_suspended", 403, "Работа школы приостановлена оператором платформы.");
    public static readonly ChatError AdminOnly = new("admin_only", 403, "Действие доступно только администратору школы.");
    public static readonly ChatError LastAdmin = new("last_admin", 409, "Нельзя снять последнего администратора школы.");
    public static readonly ChatError MemberNotFound = new("member_not_found", 404, "Участник не найден в этой школе.");
    public static readonly ChatError ClassNotFound = new("class_not_found", 404, "Класс не найден.");
    public static readonly ChatError ClassNameTaken = new("class_name_taken", 409, "Класс с таким названием уже есть в этом учебном году.");
    public static readonly ChatError AlreadyRolledOver = new("already_rolled_over", 409, "Школа уже перешла на новый учебный год.");
    public static readonly ChatError ClassNotEmpty = new("class_not_empty", 409, "В классе ещё есть ученики. Переведите их в другой класс или отметьте выбытие, затем отправьте класс в архив.");
    public static readonly ChatError StaffRoomFixed = new("staff_room_fixed", 409, "Учительскую нельзя переименовать или архивировать.");
    public static readonly ChatError NotATeacher = new("not_a_teacher", 409, "Этот участник не является учителем школы.");
    public static readonly ChatError TeacherNotVerified = new("teacher_not_verified", 409, "Сначала подтвердите учителя: классным руководителем и директором может быть только подтверждённый учитель.");
    public static readonly ChatError StudentAlreadyInClass = new("student_already_in_class", 409, "Ученик уже состоит в другом классе этой школы. Ученик может быть только в одном классе.");
    public static readonly ChatError ChildNotFound = new("child_not_found", 404, "Ученик не найден в этом классе.");

    // Invites
    public static readonly ChatError InviteNotFound = new("invite_not_found", 404, "Приглашение не найдено. Проверьте ссылку.");
    public static readonly ChatError InviteExpired = new("invite_expired", 410, "Срок действия приглашения истёк. Попросите новую ссылку.");
    public static readonly ChatError InviteRevoked = new("invite_revoked", 410, "Приглашение отозвано. Попросите новую ссылку.");
    public static readonly ChatError InviteUsedUp = new("invite_used_up", 410, "Приглашение уже использовано максимальное число раз.");
    public static readonly ChatError InviteNotAllowed = new("invite_not_allowed", 403, "Вы не можете приглашать с этой ролью или в этот класс.");
    public static readonly ChatError JoinRequestNotFound = new("join_request_not_found", 404, "Заявка не найдена.");
    public static readonly ChatError JoinRequestDecided = new("join_request_decided", 409, "Заявка уже рассмотрена.");
    public static readonly ChatError JoinRequestAccountDeleted = new("join_request_account_deleted", 409, "Этот человек удалил свой аккаунт: принять заявку нельзя. Отклоните её.");
    public static readonly ChatError ChildRequired = new("child_required", 400, "Укажите ребёнка, с которым нужно связать родителя.");

    // Chats and messages
    public static readonly ChatError ChatNotFound = new("chat_not_found", 404, "Чат не найден.");
    public static readonly ChatError ChatReadOnly = new("chat_read_only", 403, "В этом канале пишут только администраторы и назначенные ими авторы.");
    public static readonly ChatError SlowMode = new("slow_mode", 429, "В чате включён медленный режим. Подождите немного перед следующим сообщением.");
    public static readonly ChatError ReplyNotFound = new("reply_not_found", 404, "Сообщение, на которое вы отвечаете, не найдено.");
    public static readonly ChatError MessageNotFound = new("message_not_found", 404, "Сообщение не найдено.");
    public static readonly ChatError MessageDeleted = new("message_deleted", 409, "Сообщение уже удалено.");
    public static readonly ChatError NotMessageAuthor = new("not_message_author", 403, "Изменять можно только свои сообщения.");
    public static readonly ChatError ModeratorOnly = new("moderator_only", 403, "Действие доступно только модераторам чата.");
    public static readonly ChatError DirectNotAllowed = new("direct_not_allowed", 403, "Нельзя написать этому человеку: в школе действуют правила безопасного общения.");
    public static readonly ChatError AddMemberNotAllowed = new("add_member_not_allowed", 403, "Этого человека нельзя добавить в чат: в школе действуют правила безопасного общения.");
    public static readonly ChatError ChatCreateNotAllowed = new("chat_create_not_allowed", 403, "Создавать чаты могут учителя и администраторы школы.");
    public static readonly ChatError LastOwnerCannotLeave = new("last_owner_cannot_leave", 409, "Вы единственный владелец этого чата: прежде чем выйти, сделайте владельцем другого участника («Сделать владельцем» в «О чате»).");
    public static readonly ChatError CannotLeaveChat = new("cannot_leave_chat", 409, "Из этого чата нельзя выйти: в нём состоят все участники класса или школы.");
    public static readonly ChatError TooManyReactions = new("too_many_reactions", 409, "Можно поставить не больше трёх реакций на сообщение.");
    public static readonly ChatError TooManyConnections = new("too_many_connections", 429, "Слишком много одновременных подключений с вашего аккаунта.");
    public static readonly ChatError ChatInviteOutsider = new("chat_invite_outsider", 403, "Вступить в этот чат по ссылке могут только участники школы.");
    public static readonly ChatError RulesNotAccepted = new("rules_not_accepted", 409, "Чтобы вступить в чат, прочитайте и примите его правила (текущую редакцию).");
    public static readonly ChatError ChatInviteNotAllowed = new("chat_invite_not_allowed", 409, "В этот чат нельзя пригласить по ссылке: его состав ведёт школа.");
    public static readonly ChatError ForwardOtherSchool = new("forward_other_school", 403, "Переслать сообщение можно только в чат той же школы.");
    public static readonly ChatError ChatArchived = new("chat_archived", 409, "Чат в архиве: история сохранена, но писать в него и звонить нельзя.");
    public static readonly ChatError MemberBlocked = new("member_blocked", 403, "Вы заблокированы в этом чате модератором.");
    public static readonly ChatError MemberMuted = new("member_muted", 403, "Модератор временно ограничил вам отправку сообщений в этом чате.");

    // Moderation
    public static readonly ChatError RuleRequired = new("rule_required", 400, "Укажите правило школы, которое было нарушено.");
    public static readonly ChatError RuleNotFound = new("rule_not_found", 404, "Правило не найдено среди действующих правил школы.");
    public static readonly ChatError BlockNeedsViolations = new("block_needs_violations", 409, "Заблокировать можно только участника, который нарушил правила чата более трёх раз.");
    public static readonly ChatError BlockTooLong = new("block_too_long", 400, "Блокировка возможна на срок до одного месяца.");
    public static readonly ChatError MuteTooLong = new("mute_too_long", 400, "Ограничить отправку сообщений можно на срок от 1 минуты до 24 часов.");
    public static readonly ChatError CannotModerateModerator = new("cannot_moderate_moderator", 409, "Нельзя применить это действие к модератору или владельцу чата.");
    public static readonly ChatError NotRestricted = new("not_restricted", 404, "У участника нет действующей блокировки или ограничения.");
    public static readonly ChatError ReportNotFound = new("report_not_found", 404, "Жалоба не найдена.");
    public static readonly ChatError ReportResolved = new("report_resolved", 409, "Жалоба уже рассмотрена.");
    public static readonly ChatError RosterMemberRemoval = new("roster_member_removal", 409, "Состав этого чата ведёт школа: вместо удаления используйте блокировку по правилам.");
    public static readonly ChatError ReasonRequired = new("reason_required", 400, "Укажите причину.");
    public static readonly ChatError SearchQueryInvalid = new("search_query_invalid", 400, "Введите от 2 до 200 символов для поиска.");

    // Polls and files
    public static readonly ChatError PollNotFound = new("poll_not_found", 404, "Опрос не найден.");
    public static readonly ChatError PollClosed = new("poll_closed", 409, "Опрос уже завершён.");
    public static readonly ChatError QuizAnswerFinal = new("quiz_answer_final", 409, "В викторине ответ нельзя изменить или отозвать.");
    public static readonly ChatError ForwardNotEditable = new("forward_not_editable", 409, "Пересланное сообщение нельзя изменить: в нём чужие слова. Удалите его и напишите своё.");
    public static readonly ChatError PinNotAllowed = new("pin_not_allowed", 403, "Закреплять сообщения могут только модераторы чата.");
    public static readonly ChatError PollNotEditable = new("poll_not_editable", 409, "Опрос нельзя изменить: удалите его и создайте новый.");
    public static readonly ChatError PollCloseNotAllowed = new("poll_close_not_allowed", 403, "Завершить опрос досрочно может его автор или модератор чата.");
    public static readonly ChatError FileNotFound = new("file_not_found", 404, "Файл не найден.");
    public static readonly ChatError FileLinkExpired = new("file_link_expired", 403, "Ссылка на файл устарела. Откройте файл в чате ещё раз.");
    public static readonly ChatError FileTypeNotAllowed = new("file_type_not_allowed", 415, "Такой тип файла не поддерживается. Можно отправлять фото (JPEG, PNG, WebP, HEIC), аудио (Ogg/Opus, M4A, MP3), видео (MP4, WebM), PDF, документы Office и текстовые файлы.");
    public static readonly ChatError FileTypeMismatch = new("file_type_mismatch", 415, "Содержимое файла не соответствует его расширению. Проверьте, что это действительно тот файл.");
    public static readonly ChatError FileTooLarge = new("file_too_large", 413, "Файл слишком большой.");
    public static readonly ChatError StorageQuotaExceeded = new("storage_quota_exceeded", 413, "Место для файлов школы закончилось. Обратитесь к администратору школы.");
    public static readonly ChatError StorageFull = new("storage_full", 507, "На сервере закончилось место для файлов. Попробуйте позже.");
    public static readonly ChatError StorageUnavailable = new("storage_unavailable", 503, "Хранилище файлов временно недоступно. Попробуйте позже.");
    public static readonly ChatError UploadNotFound = new("upload_not_found", 404, "Загрузка не найдена: она отменена, устарела или не ваша. Начните загрузку файла заново.");
    public static readonly ChatError UploadOffsetMismatch = new("upload_offset_mismatch", 409, "Сервер получил другую часть файла. Продолжите загрузку с того места, где она остановилась.");
    public static readonly ChatError UploadTooLong = new("upload_too_long", 413, "Передано больше данных, чем заявленный размер файла.");
    public static readonly ChatError UploadBusy = new("upload_busy", 409, "Эта загрузка уже продолжается в другом запросе. Подождите немного.");
    public static readonly ChatError TooManyUploads = new("too_many_uploads", 429, "Слишком много незавершённых загрузок. Дождитесь их окончания или отмените их.");

    // Calls
    public static readonly ChatError CallNotFound = new("call_not_found", 404, "Звонок не найден или уже завершён.");
    public static readonly ChatError CallStartNotAllowed = new("call_start_not_allowed", 403, "Начать звонок в этом чате может учитель или модератор чата.");
    public static readonly ChatError CallLocked = new("call_locked", 403, "Ведущий закрыл звонок для новых участников.");
    public static readonly ChatError CallFull = new("call_full", 409, "В звонке уже максимальное число участников.");
    public static readonly ChatError NotInCall = new("not_in_call", 403, "Сначала присоединитесь к звонку.");
    public static readonly ChatError ParticipantGone = new("participant_gone", 409, "Этого участника уже нет в звонке.");
    public static readonly ChatError CallMovedToAnotherPage = new("call_moved_to_another_page", 409, "Вы подключились к звонку в другой вкладке или на другом устройстве.");
    public static readonly ChatError CallHostOnly = new("call_host_only", 403, "Это может сделать только ведущий звонка.");
    public static readonly ChatError SpeakNotAllowed = new("speak_not_allowed", 403, "Ведущий урока ещё не разрешил вам говорить. Поднимите руку.");
    public static readonly ChatError ShareNotAllowed = new("share_not_allowed", 403, "Показывать экран на уроке можно, когда учитель разрешит.");
    public static readonly ChatError ScreenBusy = new("screen_busy", 409, "Экран уже показывает другой участник.");
    public static readonly ChatError CallGuestWaiting = new("call_guest_waiting", 403, "Ведущий ещё не впустил вас в звонок. Подождите, пожалуйста.");
    public static readonly ChatError CallGuestRejected = new("call_guest_rejected", 403, "Ведущий не впустил вас в этот звонок.");
    public static readonly ChatError CallGuestNotFound = new("call_guest_not_found", 404, "Этот человек не просил войти в звонок.");
    public static readonly ChatError CallHostPresent = new("call_host_present", 409, "Ведущий в звонке: стать ведущим можно, только когда его нет.");
    public static readonly ChatError CallStarterProtected = new("call_starter_protected", 403, "Того, кто начал звонок, нельзя удалить из него или лишить слова.");
    public static readonly ChatError WaitingRoomNotAllowed = new("waiting_room_not_allowed", 403, "Зал ожидания есть только в групповых звонках.");
    public static readonly ChatError ViewerCannotPublish = new("viewer_cannot_publish", 403, "Зрители трансляции только смотрят; выступать могут ведущие.");
    public static readonly ChatError LeaveNeedsAdmin = new("leave_needs_admin", 403, "Сотрудники и ученики выходят из школы через её администратора: напишите ему.");
    public static readonly ChatError ChannelBroadcastOnly = new("channel_broadcast_only", 403, "В канале можно начать только трансляцию: его читатели не видят и не слышат друг друга.");
    public static readonly ChatError BroadcastNotAllowed = new("broadcast_not_allowed", 403, "Трансляцию можно начать в канале или групповом чате.");
    public static readonly ChatError CallNotOpenYet = new("call_not_open_yet", 409, "Звонок ещё не начался. Подключиться можно за 10 минут до начала.");
    public static readonly ChatError CallPlanNotFound = new("call_plan_not_found", 404, "Запланированный звонок не найден или отменён.");
    public static readonly ChatError RemovedFromCall = new("removed_from_call", 403, "Ведущий удалил вас из этого звонка.");
    public static readonly ChatError AttendanceNotAllowed = new("attendance_not_allowed", 403, "Посещаемость звонка видят его ведущий и модераторы чата.");
    public static readonly ChatError MediaInvalid = new("media_invalid", 400, "Браузер прислал недопустимые параметры соединения. Обновите страницу и попробуйте снова.");
    public static readonly ChatError FeedNotFound = new("feed_not_found", 404, "Этот участник сейчас не передаёт видео или звук.");
    public static readonly ChatError MediaUnavailable = new("media_unavailable", 503, "Медиасервер звонков временно недоступен. Повторите попытку через несколько секунд.");
}

/// <summary>Thrown by feature services for errors the user caused; turned into problem details or a hub error.</summary>
public sealed class ChatException(ChatError error, IReadOnlyDictionary<string, string[]>? fieldErrors = null, string? detail = null)
    : Exception(detail ?? error.Message)
{
    public ChatError Error { get; } = error;

    public IReadOnlyDictionary<string, string[]>? FieldErrors { get; } = fieldErrors;

    public string? Detail { get; } = detail;

    public static ChatException Field(string field, string message) =>
        new(ChatError.Validation, new Dictionary<string, string[]> { [field] = [message] });
}
